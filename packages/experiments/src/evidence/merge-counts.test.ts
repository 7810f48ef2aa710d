import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Discount } from '../policy/variant-statistics.js';
import { mergeCounts } from './merge-counts.js';
import { VariantCounts } from './variant-counts.js';

const HOUR = 3_600_000;
const T0 = 1_800_000_000_000;

/** One trial or reward of a model's variant, with the tally (partition) it lands in. */
const event = (reward: fc.Arbitrary<number>) =>
  fc.record({
    model: fc.constantFrom('m', 'n'),
    variant: fc.constantFrom('a', 'b', 'c'),
    at: fc.integer({ min: 0, max: 6 * HOUR }),
    reward: fc.option(reward, { nil: undefined }),
    outcome: fc.option(fc.tuple(fc.constantFrom('answered' as const, 'default' as const, 'error' as const), fc.double({ min: 0, max: 5_000, noNaN: true })), { nil: undefined }),
    part: fc.nat(),
  });

type Event = { model: string; variant: string; at: number; reward: number | undefined; outcome: readonly ['answered' | 'default' | 'error', number] | undefined; part: number };

function count(counts: VariantCounts, { model, variant, at, reward, outcome }: Event): void {
  if (reward === undefined) counts.countTrial(model, variant, T0 + at);
  else counts.countReward(model, variant, reward, T0 + at);
  if (outcome !== undefined) counts.countOutcome(model, variant, outcome[0], outcome[1], T0 + at);
}

/** Tallies the events once whole and once split into `parts` tallies merged afterwards; statistics at 7 h. */
function wholeAndMerged(events: readonly Event[], parts: number, discountFor: (model: string) => Discount | undefined) {
  const whole = new VariantCounts(discountFor);
  const split = Array.from({ length: parts }, () => new VariantCounts(discountFor));
  for (const item of events) {
    count(whole, item);
    count(split[item.part % parts]!, item);
  }
  const merged = new VariantCounts(discountFor, mergeCounts(split.map((tally) => tally.toJSON()), discountFor));
  const at = T0 + 7 * HOUR;
  return ['m', 'n'].map((model) => [whole.statistics(model, at), merged.statistics(model, at)] as const);
}

test('without a discount, merging partition tallies gives exactly the tally of all events', () => {
  fc.assert(
    fc.property(fc.array(event(fc.integer({ min: -5, max: 5 })), { maxLength: 80 }), fc.integer({ min: 1, max: 5 }), (events, parts) => {
      for (const [whole, merged] of wholeAndMerged(events, parts, () => undefined)) assert.deepEqual({ ...merged }, { ...whole });
    }),
  );
});

test('with a discount, merging partition tallies equals the tally of all events up to rounding, in any grouping', () => {
  const discounts: Record<string, Discount> = { m: { factor: 0.6, unitMs: HOUR }, n: { factor: 0.95, unitMs: HOUR } };
  fc.assert(
    fc.property(fc.array(event(fc.double({ min: -10, max: 10, noNaN: true })), { maxLength: 80 }), fc.integer({ min: 1, max: 5 }), (events, parts) => {
      for (const [whole, merged] of wholeAndMerged(events, parts, (model) => discounts[model])) {
        assert.deepEqual(Object.keys(merged).sort(), Object.keys(whole).sort());
        for (const [variant, expected] of Object.entries(whole)) {
          const actual = merged[variant]!;
          assert.equal(actual.updatedAt, expected.updatedAt, `${variant}.updatedAt`);
          const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * (1 + Math.abs(b)), `${variant}.${what}: merged ${a}, whole ${b}`);
          for (const field of ['trials', 'rewardSum', 'rewardSumSquares'] as const) close(actual[field], expected[field], field);
          // Guardrail measures merge and discount exactly like the trial counts.
          assert.equal(actual.measured === undefined, expected.measured === undefined, `${variant}.measured`);
          if (actual.measured === undefined || expected.measured === undefined) continue;
          for (const field of ['predictions', 'errors', 'defaults'] as const) close(actual.measured[field], expected.measured[field], `measured.${field}`);
          expected.measured.latency.forEach((value, index) => close(actual.measured!.latency[index]!, value, `latency[${index}]`));
        }
      }
    }),
  );
});

test('merging does not alter the tallies it reads', () => {
  const counts = new VariantCounts(() => undefined);
  counts.countTrial('m', 'a', T0);
  const state = counts.toJSON();
  const before = structuredClone(state);
  mergeCounts([state, state], () => undefined);
  assert.deepEqual(state, before);
});
