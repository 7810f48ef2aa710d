import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TtlCache } from './ttl-cache.js';

const manualClock = (start = 1_000) => {
  const clock = { ms: start, now: () => clock.ms };
  return clock;
};

test('an entry is served until ttlMs after it was set, then dropped', () => {
  const clock = manualClock();
  const cache = new TtlCache<string>({ ttlMs: 100, maxEntries: 10, now: clock.now });
  cache.set('a', 'A');
  clock.ms += 99;
  assert.equal(cache.get('a'), 'A');
  clock.ms += 1;
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.size, 0, 'an expired entry is removed when looked up');
});

test('setting again restarts the entry’s time to live', () => {
  const clock = manualClock();
  const cache = new TtlCache<number>({ ttlMs: 100, maxEntries: 10, now: clock.now });
  cache.set('a', 1);
  clock.ms += 80;
  cache.set('a', 2);
  clock.ms += 80;
  assert.equal(cache.get('a'), 2);
});

test('a hit does not extend the time to live', () => {
  const clock = manualClock();
  const cache = new TtlCache<number>({ ttlMs: 100, maxEntries: 10, now: clock.now });
  cache.set('a', 1);
  clock.ms += 60;
  assert.equal(cache.get('a'), 1);
  clock.ms += 60;
  assert.equal(cache.get('a'), undefined);
});

test('beyond maxEntries the least recently used entry is evicted, and a hit counts as use', () => {
  const clock = manualClock();
  const cache = new TtlCache<string>({ ttlMs: 60_000, maxEntries: 3, now: clock.now });
  cache.set('a', 'A');
  cache.set('b', 'B');
  cache.set('c', 'C');
  assert.equal(cache.get('a'), 'A', 'a is now the most recently used');
  cache.set('d', 'D');
  assert.equal(cache.size, 3);
  assert.equal(cache.get('b'), undefined, 'b was least recently used');
  assert.equal(cache.get('a'), 'A');
  assert.equal(cache.get('c'), 'C');
  assert.equal(cache.get('d'), 'D');
});

test('the bound holds under many distinct keys', () => {
  const clock = manualClock();
  const cache = new TtlCache<number>({ ttlMs: 60_000, maxEntries: 50, now: clock.now });
  for (let key = 0; key < 1_000; key += 1) cache.set(`k${key}`, key);
  assert.equal(cache.size, 50);
  assert.equal(cache.get('k949'), undefined);
  assert.equal(cache.get('k950'), 950);
  assert.equal(cache.get('k999'), 999);
});
