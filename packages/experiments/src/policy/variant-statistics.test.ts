import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { discountStatistics, discountWeight, EMPTY_STATISTICS, halfLifeDiscount, mergeStatistics, recordReward, type Discount, type VariantStatistics } from './variant-statistics.js';

/** One hour, the unit the tests discount over. */
const HOUR_MS = 3_600_000;
const HALF_PER_HOUR: Discount = { factor: 0.5, unitMs: HOUR_MS };

function assertClose(actual: VariantStatistics, expected: VariantStatistics, label = ''): void {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  assert.ok(close(actual.trials, expected.trials) && close(actual.rewardSum, expected.rewardSum) && close(actual.rewardSumSquares, expected.rewardSumSquares), `${label} ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
  assert.equal(actual.updatedAt, expected.updatedAt, label);
}

const observation = fc.record({ reward: fc.double({ min: -10, max: 10, noNaN: true }), at: fc.integer({ min: 0, max: 48 * HOUR_MS }) });

test('recording accumulates trials, sums and sums of squares', () => {
  const stats = [1, 0, 3].reduce((current, reward) => recordReward(current, reward), EMPTY_STATISTICS);
  assert.deepEqual(stats, { trials: 3, rewardSum: 4, rewardSumSquares: 10 });
  assert.equal(recordReward(stats, 1, { at: 5 }).updatedAt, 5);
  assert.throws(() => recordReward(stats, Number.NaN), RangeError);
});

test('evidence unitMs old weighs the factor; a half-life discount halves it per half-life', () => {
  const stats: VariantStatistics = { trials: 8, rewardSum: 4, rewardSumSquares: 4, updatedAt: 0 };
  assert.deepEqual(discountStatistics(stats, HOUR_MS, { factor: 0.9, unitMs: HOUR_MS }), { trials: 8 * 0.9, rewardSum: 4 * 0.9, rewardSumSquares: 4 * 0.9, updatedAt: HOUR_MS });
  assertClose(discountStatistics(stats, 3 * HOUR_MS, halfLifeDiscount(HOUR_MS)), { trials: 1, rewardSum: 0.5, rewardSumSquares: 0.5, updatedAt: 3 * HOUR_MS });
  assert.equal(discountWeight({ factor: 1, unitMs: 1 }, 1e12), 1, 'factor 1 never forgets');
});

test('discounting never amplifies: statistics newer than the target time are unchanged', () => {
  const stats: VariantStatistics = { trials: 3, rewardSum: 1, rewardSumSquares: 1, updatedAt: 10 * HOUR_MS };
  assert.equal(discountStatistics(stats, 5 * HOUR_MS, HALF_PER_HOUR), stats);
  assert.deepEqual(discountStatistics({ trials: 3, rewardSum: 1, rewardSumSquares: 1 }, 7, HALF_PER_HOUR), { trials: 3, rewardSum: 1, rewardSumSquares: 1, updatedAt: 7 }, 'unknown age counts as current');
});

test('with a discount, timestamped rewards recorded in any order give the same statistics', () => {
  fc.assert(
    fc.property(fc.array(observation, { minLength: 1, maxLength: 30 }).chain((observations) => fc.tuple(fc.constant(observations), fc.shuffledSubarray(observations, { minLength: observations.length }))), ([ordered, shuffled]) => {
      const record = (list: typeof ordered) => list.reduce((stats, { reward, at }) => recordReward(stats, reward, { at, discount: HALF_PER_HOUR }), EMPTY_STATISTICS);
      assertClose(record(shuffled), record(ordered));
    }),
  );
});

test('merging partial counts equals counting everything in one place, however they were split', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(observation, fc.boolean())), fc.boolean(), (observations, discounted) => {
      const discount = discounted ? HALF_PER_HOUR : undefined;
      const record = (list: typeof observations) => list.reduce((stats, [{ reward, at }]) => recordReward(stats, reward, { at, ...(discount === undefined ? {} : { discount }) }), EMPTY_STATISTICS);
      const left = record(observations.filter(([, side]) => side));
      const right = record(observations.filter(([, side]) => !side));
      assertClose(mergeStatistics(left, right, discount), record(observations), 'merged');
      assertClose(mergeStatistics(right, left, discount), mergeStatistics(left, right, discount), 'commutes');
    }),
  );
});

test('without timestamps, merging adds the sums', () => {
  const a: VariantStatistics = { trials: 2, rewardSum: 1, rewardSumSquares: 1 };
  const b: VariantStatistics = { trials: 3, rewardSum: 2, rewardSumSquares: 2 };
  assert.deepEqual(mergeStatistics(a, b), { trials: 5, rewardSum: 3, rewardSumSquares: 3 });
  assert.deepEqual(mergeStatistics(a, { ...b, updatedAt: 9 }), { trials: 5, rewardSum: 3, rewardSumSquares: 3, updatedAt: 9 });
});

test('a discount outside (0, 1] or with a non-positive unit is refused', () => {
  for (const discount of [
    { factor: 0, unitMs: 1 },
    { factor: 1.5, unitMs: 1 },
    { factor: 0.5, unitMs: 0 },
  ]) {
    assert.throws(() => recordReward(EMPTY_STATISTICS, 1, { at: 1, discount }), RangeError);
  }
});
