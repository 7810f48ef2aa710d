import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DedupeWindow } from './dedupe-window.js';

test('ids are remembered within the window of event time and forgotten past it', () => {
  const window = new DedupeWindow({ windowMs: 100, maxIds: 10 });
  window.remember('a', 1_000);
  window.remember('b', 1_050);
  assert.ok(window.has('a') && window.has('b'));
  window.advance(1_100);
  assert.ok(window.has('a'), 'exactly at the horizon is inside');
  window.advance(1_101);
  assert.ok(!window.has('a') && window.has('b'));
  window.remember('late', 900);
  assert.ok(!window.has('late'), 'an id already outside the window is not kept');
});

test('beyond maxIds the first remembered ids are evicted and counted; expired ones are dropped without counting', () => {
  let evicted = 0;
  const window = new DedupeWindow({ windowMs: 1_000, maxIds: 3, onEvicted: () => (evicted += 1) });
  for (const [index, id] of ['a', 'b', 'c', 'd', 'e'].entries()) window.remember(id, 10_000 + index);
  assert.equal(window.size, 3);
  assert.equal(evicted, 2);
  assert.ok(!window.has('a') && !window.has('b') && window.has('e'));
  window.remember('f', 20_000);
  assert.equal(evicted, 2, 'c, d and e had left the window: forgetting them is no eviction');
  assert.equal(window.size, 1);
});

test('expired ids behind newer ones are swept as time moves on, so memory follows the window', () => {
  const window = new DedupeWindow({ windowMs: 1_000, maxIds: 1_000_000 });
  window.remember('new', 5_000);
  for (let index = 0; index < 100; index += 1) window.remember(`old-${index}`, 4_500);
  window.advance(5_600);
  assert.equal(window.size, 1);
});
