import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentPredictions } from './recent-predictions.js';

test('the memory keeps the newest ids up to its bound, and says since when it is complete', () => {
  const recent = new RecentPredictions(1_000, 3);
  assert.equal(recent.completeSince(), 1_000);
  for (let index = 1; index <= 5; index += 1) recent.remember(`p${index}`, 1_000 + index);
  assert.deepEqual(['p1', 'p2', 'p3', 'p4', 'p5'].map((id) => recent.has(id)), [false, false, true, true, true]);
  // p2, served at 1002, was the last one forgotten: every id served after it is still here.
  assert.equal(recent.completeSince(), 1_002);
  recent.remember('p5', 1_010);
  assert.ok(recent.has('p3'), 'remembering a known id again forgets nothing');
});

test('a long run through a small ring stays exact', () => {
  const recent = new RecentPredictions(0, 100);
  for (let index = 0; index < 100_000; index += 1) recent.remember(`p${index}`, index);
  assert.ok(recent.has('p99999') && recent.has('p99900') && !recent.has('p99899'));
  assert.equal(recent.completeSince(), 99_899);
});
