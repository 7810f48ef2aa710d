import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConsulKvStore, createConsulClient, FileKvStore, type KvStore } from '@infermesh/shared';
import { testConsul } from '../infra/test-infra.js';

/** The same behaviour is required of Consul KV and of the embedded file registry. */
const stores: [string, () => Promise<KvStore>][] = [
  ['consul', async () => {
    const consul = await testConsul();
    return new ConsulKvStore(createConsulClient(consul.httpAddr), consul.prefix);
  }],
  ['file', async () => new FileKvStore(mkdtempSync(join(tmpdir(), 'kv-')), 20)],
];

for (const [name, makeStore] of stores) {
  describe(`${name} KV store`, () => {
    test('compare-and-set with index 0 creates once; a stale index never overwrites', async () => {
      const kv = await makeStore();
      assert.equal(await kv.get('a/b'), undefined);
      assert.equal(await kv.compareAndSet('a/b', 'one', 0), true);
      assert.equal(await kv.compareAndSet('a/b', 'two', 0), false);
      const first = await kv.get('a/b');
      assert.equal(first?.value, 'one');
      assert.equal(await kv.compareAndSet('a/b', 'two', first!.index), true);
      assert.equal(await kv.compareAndSet('a/b', 'three', first!.index), false);
      assert.equal((await kv.get('a/b'))?.value, 'two');
    });

    test('of many concurrent compare-and-sets from the same index, exactly one wins', async () => {
      const kv = await makeStore();
      await kv.compareAndSet('race', 'start', 0);
      const { index } = (await kv.get('race'))!;
      const results = await Promise.all(Array.from({ length: 8 }, (_, writer) => kv.compareAndSet('race', `writer-${writer}`, index)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await kv.get('race'))?.value, `writer-${results.indexOf(true)}`);
    });

    test('list returns entries under a prefix with keys relative to the store', async () => {
      const kv = await makeStore();
      await kv.compareAndSet('models/m/versions/1', 'x', 0);
      await kv.compareAndSet('models/m/versions/2', 'y', 0);
      await kv.compareAndSet('models/n/versions/1', 'z', 0);
      assert.deepEqual((await kv.list('models/m/')).map((entry) => [entry.key, entry.value]), [
        ['models/m/versions/1', 'x'],
        ['models/m/versions/2', 'y'],
      ]);
    });

    test('keys lists the keys under a prefix, sorted, without directories; an empty prefix has none', async () => {
      const kv = await makeStore();
      await kv.compareAndSet('history/m/minutes/2026-01-01T01', 'b', 0);
      await kv.compareAndSet('history/m/minutes/2026-01-01T00', 'a', 0);
      await kv.compareAndSet('history/n/minutes/2026-01-01T00', 'c', 0);
      assert.deepEqual(await kv.keys('history/m/'), ['history/m/minutes/2026-01-01T00', 'history/m/minutes/2026-01-01T01']);
      assert.deepEqual(await kv.keys('nothing/'), []);
    });

    test('compareAndDelete deletes only at the current index; a key already gone counts as deleted', async () => {
      const kv = await makeStore();
      await kv.compareAndSet('doomed', 'one', 0);
      const first = (await kv.get('doomed'))!;
      await kv.compareAndSet('doomed', 'two', first.index);
      assert.equal(await kv.compareAndDelete('doomed', first.index), false, 'a stale index deletes nothing');
      assert.equal((await kv.get('doomed'))?.value, 'two');
      const second = (await kv.get('doomed'))!;
      assert.deepEqual(await Promise.all([kv.compareAndDelete('doomed', second.index), kv.compareAndDelete('doomed', second.index)]), [true, true]);
      assert.equal(await kv.get('doomed'), undefined);
      assert.deepEqual(await kv.keys('doomed'), []);
      assert.equal(await kv.compareAndDelete('never-there', 5), true);
    });

    test('waitForChange blocks until a write, returns the new value, and times out unchanged', async () => {
      const kv = await makeStore();
      await kv.compareAndSet('watched', 'v1', 0);
      const { index } = (await kv.get('watched'))!;
      const quiet = await kv.waitForChange('watched', index, { waitMs: 1_000 });
      assert.equal(quiet.entry?.value, 'v1');
      const woke = kv.waitForChange('watched', index, { waitMs: 20_000 });
      setTimeout(() => void kv.compareAndSet('watched', 'v2', index), 300);
      const started = Date.now();
      const change = await woke;
      assert.equal(change.entry?.value, 'v2');
      assert.notEqual(change.index, index);
      assert.ok(Date.now() - started < 5_000, 'woke on the write, not on the timeout');
    });

    test('index 0 is answered at once, even for an absent key or an empty prefix, with an index to block on next', async () => {
      const kv = await makeStore();
      const started = Date.now();
      const key = await kv.waitForChange('nothing-here', 0, { waitMs: 20_000 });
      const prefix = await kv.waitForPrefixChange('empty/', 0, { waitMs: 20_000 });
      assert.ok(Date.now() - started < 5_000, 'a first read does not wait for a change');
      assert.ok(key.index > 0 && prefix.index > 0, 'the index to wait from next is never 0 (0 would not block)');
      assert.deepEqual(prefix.entries, []);
    });

    test('waitForChange on an absent key wakes when it is created', async () => {
      const kv = await makeStore();
      const first = await kv.waitForChange('later', 0, { waitMs: 100 });
      assert.equal(first.entry, undefined);
      const woke = kv.waitForChange('later', first.index, { waitMs: 20_000 });
      setTimeout(() => void kv.compareAndSet('later', 'here', 0), 200);
      assert.equal((await woke).entry?.value, 'here');
    });

    test('waitForPrefixChange wakes on a write anywhere under the prefix and returns every entry', async () => {
      const kv = await makeStore();
      await kv.compareAndSet('models/a/config', '{"a":1}', 0);
      const first = await kv.waitForPrefixChange('models/', 0, { waitMs: 100 });
      assert.deepEqual(first.entries.map((entry) => entry.key), ['models/a/config']);
      const woke = kv.waitForPrefixChange('models/', first.index, { waitMs: 20_000 });
      setTimeout(() => void kv.compareAndSet('models/b/config', '{"b":2}', 0), 200);
      const change = await woke;
      assert.deepEqual(change.entries.map((entry) => [entry.key, entry.value]), [['models/a/config', '{"a":1}'], ['models/b/config', '{"b":2}']]);
      const quiet = await kv.waitForPrefixChange('models/', change.index, { waitMs: 500 });
      assert.equal(quiet.index, change.index);
    });
  });
}

describe('file KV store, edited by hand', () => {
  test('an edit in place (same file, same size) and a deletion are seen by the next poll', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kv-'));
    const kv = new FileKvStore(root, 20);
    await kv.compareAndSet('models/a/config', '{"v":1}', 0);
    await kv.compareAndSet('models/b/config', '{"v":2}', 0);
    const first = await kv.waitForPrefixChange('models/', 0, { waitMs: 100 });
    const path = join(root, 'models', 'a', 'config');
    const inode = statSync(path).ino;
    const woke = kv.waitForPrefixChange('models/', first.index, { waitMs: 20_000 });
    // Long enough for several polls to find nothing changed, then the same bytes' length rewritten where they are.
    setTimeout(() => writeFileSync(path, '{"v":3}'), 300);
    const edited = await woke;
    assert.equal(statSync(path).ino, inode, 'edited in place, not replaced');
    assert.deepEqual(edited.entries.map((entry) => entry.value), ['{"v":3}', '{"v":2}']);
    const current = await kv.waitForChange('models/a/config', 0, { waitMs: 100 });
    assert.equal(current.entry?.value, '{"v":3}');
    const gone = kv.waitForChange('models/a/config', current.index, { waitMs: 20_000 });
    setTimeout(() => rmSync(path), 100);
    assert.equal((await gone).entry, undefined);
  });
});
