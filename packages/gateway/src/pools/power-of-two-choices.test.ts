import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { powerOfTwoChoices } from './power-of-two-choices.js';

/** A random source answering the given values in turn. */
const sequence = (...values: number[]) => {
  let next = 0;
  return () => values[next++ % values.length]!;
};

test('of the two drawn, the less loaded wins', () => {
  const load = new Map([['a', 5], ['b', 1], ['c', 9]]);
  // Draws index 0 (a), then 0 of the remaining two → b.
  assert.equal(powerOfTwoChoices(['a', 'b', 'c'], (name) => load.get(name)!, sequence(0, 0)), 'b');
  // Draws index 2 (c), then 0 of the remaining → a.
  assert.equal(powerOfTwoChoices(['a', 'b', 'c'], (name) => load.get(name)!, sequence(0.9, 0)), 'a');
});

test('a tie goes to the first drawn; no candidates → undefined; one → it', () => {
  assert.equal(powerOfTwoChoices(['a', 'b'], () => 0, sequence(0.7, 0)), 'b');
  assert.equal(powerOfTwoChoices([], () => 0, Math.random), undefined);
  assert.equal(powerOfTwoChoices(['only'], () => 0, () => 0.99), 'only');
});

test('the two drawn are always distinct and the pick is never the more loaded of them', () => {
  fc.assert(
    fc.property(fc.array(fc.nat(100), { minLength: 2, maxLength: 20 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (loads, r1, r2) => {
      const indices = loads.map((_, index) => index);
      const first = Math.floor(r1 * loads.length);
      let second = Math.floor(r2 * (loads.length - 1));
      if (second >= first) second += 1;
      assert.notEqual(first, second);
      const picked = powerOfTwoChoices(indices, (index) => loads[index]!, sequence(r1, r2))!;
      assert.ok(picked === first || picked === second);
      assert.equal(loads[picked], Math.min(loads[first]!, loads[second]!));
    }),
  );
});
