import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { shadowVariants } from './eligible-variants.js';
import { argmax, pickIndex, withFloor } from './share-plan.js';

const shareVector = fc.array(fc.nat(20), { minLength: 1, maxLength: 8 }).filter((weights) => weights.some((weight) => weight > 0)).map((weights) => {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return weights.map((weight) => weight / total);
});

test('pickIndex never picks a zero share, for any u in [0, 1)', () => {
  fc.assert(
    fc.property(shareVector, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (shares, u) => {
      assert.ok(shares[pickIndex(shares, u)]! > 0);
    }),
  );
  assert.equal(pickIndex([0.5, 0.5, 0], 0.9999999999999999), 1, 'rounding never lands on a trailing zero');
});

test('withFloor keeps the total at 1, lifts every share to the floor and keeps the ranking', () => {
  fc.assert(
    fc.property(shareVector, fc.double({ min: 0, max: 1, noNaN: true }), (shares, fraction) => {
      const floor = (fraction / shares.length) * 0.999;
      const floored = withFloor(shares, floor);
      assert.ok(Math.abs(floored.reduce((sum, share) => sum + share, 0) - 1) < 1e-9);
      assert.ok(floored.every((share) => share >= floor - 1e-15));
      const order = (values: readonly number[]) => values.map((_, index) => index).sort((a, b) => values[a]! - values[b]! || a - b);
      assert.deepEqual(order(floored), order(shares), 'the ranking is kept');
    }),
  );
});

test('argmax takes the first of equal maxima', () => {
  assert.equal(argmax([1, 3, 3, 2]), 1);
  assert.equal(argmax([5]), 0);
});

test('shadowVariants lists the enabled shadow variants, the ones requests are mirrored to', () => {
  const stats = { trials: 0, rewardSum: 0, rewardSumSquares: 0 };
  assert.deepEqual(
    shadowVariants([
      { name: 'prod', enabled: true, role: 'live', stats },
      { name: 'candidate', enabled: true, role: 'shadow', stats },
      { name: 'parked', enabled: false, role: 'shadow', stats },
    ]),
    ['candidate'],
  );
});
