import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SnapshotStatistics } from './snapshot-statistics.js';
import type { VariantStats } from './variant-stats.js';

const manualClock = (start = 10_000) => {
  const clock = { ms: start, now: () => clock.ms };
  return clock;
};

const stats = (trials: number, rewardSum: number, rewardSumSquares: number, updatedAt: number): VariantStats => ({ trials, rewardSum, rewardSumSquares, updatedAt });

test('before any publication the view is what this replica recorded', () => {
  const source = new SnapshotStatistics({ now: manualClock().now });
  assert.deepEqual(Object.keys(source.snapshot('m')), []);
  source.recordTrial('m', 'a');
  source.recordReward('m', 'a', 1);
  assert.deepEqual({ ...source.snapshot('m') }, { a: stats(1, 1, 1, 10_000) });
});

test('a publication is served as is', () => {
  const source = new SnapshotStatistics({ now: manualClock().now });
  source.update('m', { a: stats(100, 30, 30, 5_000), b: stats(50, 20, 20, 6_000) });
  assert.deepEqual({ ...source.snapshot('m') }, { a: stats(100, 30, 30, 5_000), b: stats(50, 20, 20, 6_000) });
  assert.deepEqual(Object.keys(source.snapshot('other')), [], 'models are independent');
});

test('between publications local trials and rewards add to the published statistics', () => {
  const clock = manualClock();
  const source = new SnapshotStatistics({ now: clock.now });
  source.update('m', { a: stats(100, 30, 30, 5_000), b: stats(50, 20, 20, 6_000) });
  source.recordTrial('m', 'a');
  source.recordTrial('m', 'a');
  source.recordReward('m', 'a', 1);
  source.recordTrial('m', 'new');
  assert.deepEqual({ ...source.snapshot('m') }, {
    a: stats(102, 31, 31, 10_000),
    b: stats(50, 20, 20, 6_000),
    new: stats(1, 0, 0, 10_000),
  });
});

test('the next publication replaces the local deltas instead of adding to them', () => {
  const clock = manualClock();
  const source = new SnapshotStatistics({ now: clock.now });
  source.update('m', { a: stats(100, 30, 30, 5_000) });
  source.recordTrial('m', 'a');
  source.recordTrial('m', 'b');
  source.recordTrial('other', 'a');
  // The aggregator has counted the trial from Kafka: it must not be counted twice.
  source.update('m', { a: stats(101, 30, 30, 9_000) });
  assert.deepEqual({ ...source.snapshot('m') }, { a: stats(101, 30, 30, 9_000) });
  assert.deepEqual({ ...source.snapshot('other') }, { a: stats(1, 0, 0, 10_000) }, 'another model keeps its deltas');
  source.recordReward('m', 'a', 0.5);
  assert.deepEqual({ ...source.snapshot('m') }, { a: stats(101, 30.5, 30.25, 10_000) }, 'deltas start again from the new publication');
});

test('the view handed out is frozen and unaffected by later writes or by the caller of update', () => {
  const source = new SnapshotStatistics({ now: manualClock().now });
  const published = { a: stats(10, 1, 1, 1) };
  source.update('m', published);
  const before = source.snapshot('m');
  published.a.trials = 999;
  source.recordTrial('m', 'a');
  assert.equal(before['a']!.trials, 10);
  assert.equal(source.snapshot('m')['a']!.trials, 11);
  assert.ok(Object.isFrozen(before) && Object.isFrozen(before['a']));
});

test('a non-finite local reward is INVALID_ARGUMENT', () => {
  const source = new SnapshotStatistics({ now: manualClock().now });
  assert.throws(() => source.recordReward('m', 'a', Number.NaN), { code: 'INVALID_ARGUMENT' });
  assert.deepEqual(Object.keys(source.snapshot('m')), []);
});
