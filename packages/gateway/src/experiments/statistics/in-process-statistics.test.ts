import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InProcessStatistics } from './in-process-statistics.js';

const manualClock = (start = 1_000) => {
  const clock = { ms: start, now: () => clock.ms };
  return clock;
};

test('trials and rewards accumulate per model and variant, stamped with the clock', () => {
  const clock = manualClock();
  const stats = new InProcessStatistics({ now: clock.now });
  stats.recordTrial('ranker', 'control');
  stats.recordTrial('ranker', 'control');
  clock.ms = 2_000;
  stats.recordReward('ranker', 'control', 1);
  stats.recordReward('ranker', 'control', 0.5);
  stats.recordTrial('ranker', 'treatment');
  stats.recordTrial('other', 'control');
  assert.deepEqual({ ...stats.snapshot('ranker') }, {
    control: { trials: 2, rewardSum: 1.5, rewardSumSquares: 1.25, updatedAt: 2_000 },
    treatment: { trials: 1, rewardSum: 0, rewardSumSquares: 0, updatedAt: 2_000 },
  });
  assert.deepEqual({ ...stats.snapshot('other') }, { control: { trials: 1, rewardSum: 0, rewardSumSquares: 0, updatedAt: 2_000 } });
});

test('a model with nothing recorded has an empty snapshot, and no inherited keys', () => {
  const stats = new InProcessStatistics({ now: () => 0 });
  assert.deepEqual(Object.keys(stats.snapshot('unknown')), []);
  stats.recordTrial('m', 'a');
  assert.equal(stats.snapshot('m')['constructor'], undefined, 'a variant lookup never finds an Object method');
});

test('a snapshot handed out never changes and cannot be changed', () => {
  const stats = new InProcessStatistics({ now: () => 5 });
  stats.recordTrial('m', 'a');
  const before = stats.snapshot('m');
  stats.recordTrial('m', 'a');
  stats.recordTrial('m', 'b');
  assert.equal(before['a']!.trials, 1);
  assert.equal(before['b'], undefined);
  assert.ok(Object.isFrozen(before) && Object.isFrozen(before['a']));
  assert.equal(stats.snapshot('m')['a']!.trials, 2);
  assert.equal(stats.snapshot('m'), stats.snapshot('m'), 'reads between writes return the same object');
});

test('a non-finite reward is INVALID_ARGUMENT and leaves the statistics untouched', () => {
  const stats = new InProcessStatistics({ now: () => 5 });
  stats.recordReward('m', 'a', 1);
  for (const reward of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    assert.throws(() => stats.recordReward('m', 'a', reward), { code: 'INVALID_ARGUMENT' });
  }
  assert.deepEqual({ ...stats.snapshot('m')['a'] }, { trials: 0, rewardSum: 1, rewardSumSquares: 1, updatedAt: 5 });
});

test('property: the statistics equal the sums over what was recorded', () => {
  const event = fc.record({ variant: fc.constantFrom('a', 'b', 'c'), reward: fc.option(fc.double({ min: -10, max: 10, noNaN: true }), { nil: undefined }) });
  fc.assert(
    fc.property(fc.array(event, { maxLength: 100 }), (events) => {
      const clock = manualClock();
      const stats = new InProcessStatistics({ now: clock.now });
      for (const { variant, reward } of events) {
        clock.ms += 1;
        if (reward === undefined) stats.recordTrial('m', variant);
        else stats.recordReward('m', variant, reward);
      }
      const snapshot = stats.snapshot('m');
      for (const variant of ['a', 'b', 'c']) {
        const mine = events.filter((e) => e.variant === variant);
        const rewards = mine.flatMap((e) => (e.reward === undefined ? [] : [e.reward]));
        const got = snapshot[variant];
        if (mine.length === 0) {
          assert.equal(got, undefined);
          continue;
        }
        assert.equal(got!.trials, mine.length - rewards.length);
        assert.ok(Math.abs(got!.rewardSum - rewards.reduce((sum, r) => sum + r, 0)) < 1e-9);
        assert.ok(Math.abs(got!.rewardSumSquares - rewards.reduce((sum, r) => sum + r * r, 0)) < 1e-9);
        assert.equal(got!.updatedAt, 1_000 + events.findLastIndex((e) => e.variant === variant) + 1);
      }
    }),
  );
});
