import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { VariantCounts } from './variant-counts.js';

const HOUR = 3_600_000;
const T0 = 1_800_000_000_000;

test('without a discount the tally is exact counts and sums', () => {
  const counts = new VariantCounts(() => undefined);
  counts.countTrial('m', 'a', T0);
  counts.countTrial('m', 'a', T0 + 5);
  counts.countReward('m', 'a', 2, T0 + 7);
  counts.countReward('m', 'a', -1, T0 + 1);
  counts.countTrial('m', 'b', T0);
  assert.deepEqual(counts.statistics('m', T0 + HOUR), {
    a: { trials: 2, rewardSum: 1, rewardSumSquares: 5, updatedAt: T0 + 7 },
    b: { trials: 1, rewardSum: 0, rewardSumSquares: 0, updatedAt: T0 },
  });
});

test('discountPerHour fades old evidence of a variant that keeps receiving traffic, not only of an idle one', () => {
  const counts = new VariantCounts(() => ({ factor: 0.5, unitMs: HOUR }));
  for (let index = 0; index < 1_000; index += 1) {
    counts.countTrial('m', 'busy', T0);
    counts.countTrial('m', 'idle', T0);
  }
  // Two hours of steady traffic on "busy": one trial a minute.
  for (let minute = 1; minute <= 120; minute += 1) counts.countTrial('m', 'busy', T0 + minute * 60_000);
  const at = T0 + 2 * HOUR;
  const stats = counts.statistics('m', at);
  assert.ok(Math.abs(stats.idle!.trials - 250) < 1e-6, 'the idle variant kept a quarter after two half-lives');
  // 1000 · 0.25 plus the minute trials, each weighted by its own age: Σ 0.5^((120 − m)/60).
  const recent = Array.from({ length: 120 }, (_, index) => 0.5 ** ((120 - (index + 1)) / 60)).reduce((sum, weight) => sum + weight, 0);
  assert.ok(Math.abs(stats.busy!.trials - (250 + recent)) < 1e-6, `busy has ${stats.busy!.trials}, expected ${250 + recent}`);
});

test('with a discount, the tally does not depend on the order events arrive in', () => {
  const event = fc.record({ variant: fc.constantFrom('a', 'b'), at: fc.integer({ min: 0, max: 5 * HOUR }), reward: fc.option(fc.double({ min: -10, max: 10, noNaN: true }), { nil: undefined }) });
  fc.assert(
    fc.property(fc.array(event, { maxLength: 60 }), fc.integer(), (events, seed) => {
      const shuffled = [...events].sort((x, y) => (((x.at * 31 + seed) % 97) - ((y.at * 31 + seed) % 97)));
      const tally = (list: typeof events) => {
        const counts = new VariantCounts(() => ({ factor: 0.7, unitMs: HOUR }));
        for (const { variant, at, reward } of list) {
          if (reward === undefined) counts.countTrial('m', variant, T0 + at);
          else counts.countReward('m', variant, reward, T0 + at);
        }
        return counts.statistics('m', T0 + 6 * HOUR);
      };
      const [first, second] = [tally(events), tally(shuffled)];
      for (const variant of Object.keys(first)) {
        for (const field of ['trials', 'rewardSum', 'rewardSumSquares'] as const) {
          assert.ok(Math.abs(first[variant]![field] - second[variant]![field]) < 1e-6 * (1 + Math.abs(first[variant]![field])), `${variant}.${field}`);
        }
      }
    }),
  );
});
