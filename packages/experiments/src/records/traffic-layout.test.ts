import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bandAt, checkLayout, contiguousLayout, layoutShares, MAX_LAYOUT_BANDS, relayout, type TrafficLayout } from './traffic-layout.js';

const NAMES = ['a', 'b', 'c', 'd', 'e'];

/** Share vectors over up to five variants (some 0), normalised. */
const shareMap = fc
  .array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: NAMES.length })
  .filter((weights) => weights.some((weight) => weight > 0))
  .map((weights) => {
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    return new Map(weights.map((weight, index) => [NAMES[index]!, weight / total] as const).filter(([, share]) => share > 0));
  });

function totalVariation(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const name of new Set([...a.keys(), ...b.keys()])) sum += Math.abs((a.get(name) ?? 0) - (b.get(name) ?? 0));
  return sum / 2;
}

/** Measure of the positions whose variant differs between two layouts, computed exactly from their breakpoints. */
function movedMeasure(before: TrafficLayout, after: TrafficLayout): number {
  const points = [...new Set([0, ...before.map(([, end]) => end), ...after.map(([, end]) => end)])].sort((x, y) => x - y);
  let moved = 0;
  for (let index = 0; index + 1 < points.length; index += 1) {
    const middle = (points[index]! + points[index + 1]!) / 2;
    if (bandAt(before, middle).variant !== bandAt(after, middle).variant) moved += points[index + 1]! - points[index]!;
  }
  return moved;
}

test('a relaid layout covers [0, 1), gives each variant its target share, and moves exactly the total variation distance', () => {
  fc.assert(
    fc.property(shareMap, fc.array(shareMap, { minLength: 1, maxLength: 8 }), (first, updates) => {
      let layout = relayout(undefined, first, NAMES);
      let shares = first;
      for (const next of updates) {
        const moved = relayout(layout, next, NAMES);
        checkLayout(moved);
        const widths = layoutShares(moved);
        for (const name of NAMES) assert.ok(Math.abs((widths.get(name) ?? 0) - (next.get(name) ?? 0)) < 1e-9, `${name}: ${widths.get(name)} vs ${next.get(name)}`);
        assert.ok(moved.length <= MAX_LAYOUT_BANDS);
        // Compaction (more than MAX_LAYOUT_BANDS bands) may move more; it cannot happen within 9 updates of 5 variants.
        assert.ok(movedMeasure(layout, moved) <= totalVariation(shares, next) + 1e-9, `moved ${movedMeasure(layout, moved)} > TV ${totalVariation(shares, next)}`);
        layout = moved;
        shares = next;
      }
    }),
    { numRuns: 500 },
  );
});

test('three equal variants going to 0, 1/3, 2/3 move one third of the positions, not the two thirds cumulative bands would', () => {
  const third = 1 / 3;
  const before = relayout(undefined, new Map([['a', third], ['b', third], ['c', third]]), ['a', 'b', 'c']);
  const after = relayout(before, new Map([['b', third], ['c', 2 * third]]), ['a', 'b', 'c']);
  assert.ok(Math.abs(movedMeasure(before, after) - third) < 1e-12);
  const cumulative = contiguousLayout([['b', third], ['c', 2 * third]]);
  assert.ok(movedMeasure(before, cumulative) > 0.6, 'the naive layout would move two thirds');
});

test('bandAt finds the band holding u, including the edges', () => {
  const layout = contiguousLayout([['a', 0.25], ['b', 0.5], ['c', 0.25]]);
  assert.deepEqual(bandAt(layout, 0), { variant: 'a', start: 0, end: 0.25 });
  assert.equal(bandAt(layout, 0.25).variant, 'b');
  assert.equal(bandAt(layout, 0.7499999).variant, 'b');
  assert.equal(bandAt(layout, 0.9999999999).variant, 'c');
});

test('checkLayout refuses empty, decreasing, short and unnamed layouts', () => {
  for (const bad of [[], [['a', 0.5]], [['a', 0.6], ['b', 0.4]], [['', 1]], [['a', 0.5], ['b', 1.5]]] as TrafficLayout[]) {
    assert.throws(() => checkLayout(bad), RangeError, JSON.stringify(bad));
  }
  checkLayout([['a', 0.5], ['b', 1]]);
});
