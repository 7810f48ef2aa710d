import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RewardDeduplicator } from './reward-deduplicator.js';

const manualClock = (start = 1_000) => {
  const clock = { ms: start, now: () => clock.ms };
  return clock;
};

test('a second reward for the same prediction counts once until the token expires, then the id is forgotten', () => {
  const clock = manualClock();
  const dedupe = new RewardDeduplicator({ now: clock.now });
  assert.equal(dedupe.firstTime('r1', 1_100), true);
  assert.equal(dedupe.firstTime('r1', 1_100), false);
  assert.equal(dedupe.firstTime('r2', 1_200), true, 'other requests are independent');
  clock.ms = 1_099;
  assert.equal(dedupe.firstTime('r1', 1_100), false);
  clock.ms = 1_100;
  assert.equal(dedupe.size, 1, 'r1 expired with its token and was dropped');
  assert.equal(dedupe.firstTime('r1', 1_100), true, 'an expired id is forgotten (the signer refuses its token anyway)');
  assert.equal(dedupe.firstTime('r3', 1_300), true);
  assert.equal(dedupe.size, 2);
  clock.ms = 1_300;
  assert.equal(dedupe.firstTime('r4', 1_400), true);
  assert.equal(dedupe.size, 1);
});

test('an already expired token is not remembered', () => {
  const clock = manualClock();
  const dedupe = new RewardDeduplicator({ now: clock.now });
  assert.equal(dedupe.firstTime('r1', 1_000), true);
  assert.equal(dedupe.size, 0);
});

test('at capacity the least recently redeemed id is forgotten first (with one token ttl, the one closest to expiry), and counted as an eviction', () => {
  const clock = manualClock();
  const dedupe = new RewardDeduplicator({ now: clock.now, maxEntries: 2 });
  dedupe.firstTime('first', 3_000);
  clock.ms += 10;
  dedupe.firstTime('second', 3_010);
  clock.ms += 10;
  dedupe.firstTime('third', 3_020);
  assert.equal(dedupe.size, 2);
  assert.equal(dedupe.evictions, 1);
  assert.equal(dedupe.firstTime('second', 3_010), false);
  assert.equal(dedupe.firstTime('third', 3_020), false);
  assert.equal(dedupe.firstTime('first', 3_000), true, 'the forgotten id would count again: hence the eviction metric');
});

test('property: firstTime is true exactly when the id has no live entry, and memory holds only live ids', () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('redeem' as const), id: fc.nat({ max: 15 }), ttl: fc.integer({ min: 1, max: 500 }) }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.nat({ max: 200 }) }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
      const clock = manualClock();
      const dedupe = new RewardDeduplicator({ now: clock.now });
      const model = new Map<string, number>();
      for (const s of steps) {
        if (s.kind === 'tick') {
          clock.ms += s.ms;
          continue;
        }
        const id = `r${s.id}`;
        const live = (model.get(id) ?? -Infinity) > clock.ms;
        assert.equal(dedupe.firstTime(id, clock.ms + s.ttl), !live);
        if (!live) model.set(id, clock.ms + s.ttl);
        const liveCount = [...model.values()].filter((expiresAt) => expiresAt > clock.ms).length;
        assert.equal(dedupe.size, liveCount);
      }
    }),
  );
});

test('bad maxEntries is INVALID_CONFIG', () => {
  assert.throws(() => new RewardDeduplicator({ now: () => 0, maxEntries: 0 }), { code: 'INVALID_CONFIG' });
});
