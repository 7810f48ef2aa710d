import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Discount, Evidence } from '@infermesh/experiments';
import type { TallySnapshot } from '../state/partition-state.js';
import { PartitionTally, type TallyMessage } from './partition-tally.js';

const T0 = 1_800_000_000_000;
const EMPTY: TallySnapshot = { offset: '0', newest: { trial: null, reward: null }, counts: {} };

function tally(snapshot: TallySnapshot, windowMs = { trial: 60_000, reward: 600_000 }, discountFor: (model: string) => Discount | undefined = () => undefined, maxIds = 1_000_000) {
  return new PartitionTally({ topic: 't', partition: 0, snapshot, windowMs, maxIds, discountFor });
}

/** A log of one partition: trials and rewards of a few prediction ids (so copies are common), and other events. */
const logArbitrary = fc
  .array(
    fc.record({
      kind: fc.constantFrom('trial', 'reward', 'none'),
      id: fc.integer({ min: 0, max: 11 }),
      variant: fc.constantFrom('a', 'b'),
      reward: fc.integer({ min: 0, max: 3 }),
      // Mostly increasing time, sometimes late (a spool delivering old events).
      step: fc.integer({ min: -40_000, max: 30_000 }),
    }),
    { minLength: 1, maxLength: 120 },
  )
  .map((items) => {
    let clock = T0;
    return items.map((item, index): TallyMessage => {
      clock += Math.max(0, item.step);
      const timestampMs = item.step < 0 ? clock + item.step : clock;
      const evidence: Evidence | undefined =
        item.kind === 'none'
          ? undefined
          : item.kind === 'trial'
            ? { kind: 'trial', predictionId: `p${item.id}`, model: 'm', variant: item.variant }
            : { kind: 'reward', predictionId: `p${item.id}`, model: 'm', variant: item.variant, reward: item.reward };
      return { offset: String(index), timestampMs, evidence, eventTimeMs: timestampMs };
    });
  });

/** The first offset whose timestamp is at or after `from` (what Kafka's offset-by-timestamp answers). */
function offsetAt(log: readonly TallyMessage[], from: number): number {
  const index = log.findIndex((message) => message.timestampMs >= from);
  return index === -1 ? log.length : index;
}

/** Resumes from a stored snapshot as a new owner does: re-read from the rebuild start, then go on. */
function resumed(log: readonly TallyMessage[], cut: number, windowMs?: { trial: number; reward: number }): PartitionTally {
  const first = tally(EMPTY, windowMs);
  for (const message of log.slice(0, cut)) first.apply(message);
  const stored = JSON.parse(JSON.stringify(first.snapshot())) as TallySnapshot;
  const second = tally(stored, windowMs);
  const start = Math.min(cut, ...second.rebuildFrom().map((from) => offsetAt(log, from)));
  for (const message of log.slice(start)) second.apply(message);
  return second;
}

test('a tally counts each prediction id once per kind: the first trial, the first reward', () => {
  const counts = tally(EMPTY);
  const trial = (offset: number, id: string, variant: string): TallyMessage => ({ offset: String(offset), timestampMs: T0 + offset, eventTimeMs: T0 + offset, evidence: { kind: 'trial', predictionId: id, model: 'm', variant } });
  const reward = (offset: number, id: string, value: number): TallyMessage => ({ offset: String(offset), timestampMs: T0 + offset, eventTimeMs: T0 + offset, evidence: { kind: 'reward', predictionId: id, model: 'm', variant: 'a', reward: value } });
  const outcomes = [trial(0, 'p1', 'a'), trial(1, 'p2', 'b'), trial(2, 'p1', 'a'), reward(3, 'p1', 1), reward(4, 'p1', 0), { offset: '5', timestampMs: T0, eventTimeMs: T0, evidence: undefined }].map((message) => counts.apply(message));
  assert.deepEqual(outcomes, ['counted', 'counted', 'duplicate', 'counted', 'duplicate', 'ignored']);
  assert.equal(counts.offset, '6');
  assert.deepEqual(counts.snapshot().counts, {
    m: { a: { trials: 1, rewardSum: 1, rewardSumSquares: 1, updatedAt: T0 + 3 }, b: { trials: 1, rewardSum: 0, rewardSumSquares: 0, updatedAt: T0 + 1 } },
  });
  assert.equal(counts.apply(trial(3, 'p9', 'a')), 'replayed', 'a message below the offset is never counted');
  assert.equal(counts.snapshot().counts.m!.a!.trials, 1);
});

test('a stored snapshot survives JSON and resumes at its offset with its counts', () => {
  const first = tally(EMPTY);
  first.apply({ offset: '7', timestampMs: T0, eventTimeMs: T0, evidence: { kind: 'trial', predictionId: 'p', model: 'm', variant: 'a' } });
  const snapshot = first.snapshot();
  const second = tally(JSON.parse(JSON.stringify(snapshot)) as TallySnapshot);
  assert.deepEqual(second.snapshot(), snapshot);
  assert.equal(second.offset, '8');
  assert.equal(second.version, 0, 'nothing new to store after a resume');
});

test('resuming from a stored snapshot and re-reading from the rebuild start ends exactly where one uninterrupted tally ends', () => {
  fc.assert(
    fc.property(logArbitrary, fc.nat(), fc.integer({ min: 1_000, max: 200_000 }), (log, cutSeed, trialWindow) => {
      const windowMs = { trial: trialWindow, reward: trialWindow * 2 };
      const whole = tally(EMPTY, windowMs);
      for (const message of log) whole.apply(message);
      const cut = cutSeed % (log.length + 1);
      assert.deepEqual(resumed(log, cut, windowMs).snapshot(), whole.snapshot());
    }),
    { numRuns: 300 },
  );
});

test('with windows covering the whole log, the tally is the recount: distinct trials, first reward per prediction', () => {
  fc.assert(
    fc.property(logArbitrary, fc.nat(), (log, cutSeed) => {
      const huge = { trial: 1e12, reward: 1e12 };
      const recount: Record<string, { trials: number; rewardSum: number; rewardSumSquares: number }> = {};
      const trials = new Set<string>();
      const rewards = new Set<string>();
      for (const { evidence } of log) {
        if (evidence === undefined) continue;
        const seen = evidence.kind === 'trial' ? trials : rewards;
        if (seen.has(evidence.predictionId)) continue;
        seen.add(evidence.predictionId);
        const entry = (recount[evidence.variant] ??= { trials: 0, rewardSum: 0, rewardSumSquares: 0 });
        if (evidence.kind === 'trial') entry.trials += 1;
        else {
          entry.rewardSum += evidence.reward;
          entry.rewardSumSquares += evidence.reward ** 2;
        }
      }
      const counted = resumed(log, cutSeed % (log.length + 1), huge).snapshot().counts.m ?? {};
      assert.deepEqual(Object.fromEntries(Object.entries(counted).map(([variant, { trials: n, rewardSum, rewardSumSquares }]) => [variant, { trials: n, rewardSum, rewardSumSquares }])), recount);
    }),
    { numRuns: 200 },
  );
});

test('a copy arriving after its original left the window is counted again (the documented bound), and says so by its time', () => {
  const counts = tally(EMPTY, { trial: 10_000, reward: 10_000 });
  const trial = (offset: number, at: number): TallyMessage => ({ offset: String(offset), timestampMs: at, eventTimeMs: at, evidence: { kind: 'trial', predictionId: 'p', model: 'm', variant: 'a' } });
  assert.equal(counts.apply(trial(0, T0)), 'counted');
  assert.equal(counts.apply({ offset: '1', timestampMs: T0 + 10_000, eventTimeMs: T0 + 10_000, evidence: { kind: 'trial', predictionId: 'q', model: 'm', variant: 'a' } }), 'counted');
  assert.equal(counts.apply(trial(2, T0)), 'duplicate', 'still inside: newest − window = T0');
  assert.equal(counts.apply({ offset: '3', timestampMs: T0 + 10_001, eventTimeMs: T0 + 10_001, evidence: undefined }), 'ignored');
  assert.equal(counts.apply(trial(4, T0)), 'duplicate', 'only evidence moves a window');
  assert.equal(counts.apply({ offset: '5', timestampMs: T0 + 10_001, eventTimeMs: T0 + 10_001, evidence: { kind: 'trial', predictionId: 'r', model: 'm', variant: 'a' } }), 'counted');
  assert.equal(counts.apply(trial(6, T0)), 'counted', 'the original is now outside the window');
});

test('with a discount, evidence is aged by the event time, not by when it is read', () => {
  const discount = { factor: 0.5, unitMs: 3_600_000 };
  const counts = tally(EMPTY, undefined, () => discount);
  counts.apply({ offset: '0', timestampMs: T0, eventTimeMs: T0, evidence: { kind: 'trial', predictionId: 'p', model: 'm', variant: 'a' } });
  counts.apply({ offset: '1', timestampMs: T0 + 3_600_000, eventTimeMs: T0 + 3_600_000, evidence: { kind: 'trial', predictionId: 'q', model: 'm', variant: 'a' } });
  assert.equal(counts.snapshot().counts.m!.a!.trials, 1.5);
});

test('skipTo moves past deleted messages without counting them', () => {
  const counts = tally(EMPTY);
  counts.skipTo('40');
  assert.equal(counts.offset, '40');
  assert.equal(counts.version, 1);
  counts.skipTo('10');
  assert.equal(counts.offset, '40', 'never backwards');
});
