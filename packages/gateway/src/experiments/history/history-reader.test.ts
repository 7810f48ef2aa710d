import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger, FileKvStore, type KvStore } from '@infermesh/shared';
import { chunkKey, encodeChunk, MINUTE_MS, type HistoryPoint } from '@infermesh/experiments';
import { HISTORY_CACHE_MS, HistoryReader } from './history-reader.js';

const HOUR = Date.UTC(2026, 11, 7, 10);
const point = (t: number, sequence: number): HistoryPoint => ({ t, sequence, variants: { a: { share: 1, trials: sequence, rewardSum: 0, probabilityBest: 1 } } });

test('one KV read answers every request for a few seconds, requests in flight share it, and a changed chunk is read after the cache expires', async () => {
  const file = new FileKvStore(mkdtempSync(join(tmpdir(), 'history-reader-')), 20);
  let lists = 0;
  const kv: KvStore = Object.assign(Object.create(file) as KvStore, { list: (prefix: string) => ((lists += 1), file.list(prefix)) });
  let clock = HOUR + 10 * MINUTE_MS;
  const reader = new HistoryReader({ kv, logger: createLogger({ service: 'test', level: 'silent' }), now: () => clock });
  const key = chunkKey('m', 'minute', HOUR);
  await file.compareAndSet(key, encodeChunk({ model: 'm', resolution: 'minute', start: HOUR, points: [point(HOUR, 1)] }), 0);
  await file.compareAndSet(chunkKey('m', 'minute', HOUR - 60 * MINUTE_MS), 'not a chunk', 0);
  const [first, second] = await Promise.all([reader.points('m', 0, clock), reader.points('m', 0, clock)]);
  assert.deepEqual(first.map((entry) => entry.sequence), [1], 'an unreadable chunk is skipped');
  assert.deepEqual(second, first);
  assert.equal(lists, 1, 'concurrent requests share one read');

  const entry = (await file.get(key))!;
  await file.compareAndSet(key, encodeChunk({ model: 'm', resolution: 'minute', start: HOUR, points: [point(HOUR, 1), point(HOUR + MINUTE_MS, 2)] }), entry.index);
  clock += HISTORY_CACHE_MS - 1;
  assert.equal((await reader.points('m', 0, clock)).length, 1, 'cached');
  clock += 1;
  assert.deepEqual((await reader.points('m', 0, clock)).map((entry) => entry.sequence), [1, 2]);
  assert.deepEqual((await reader.points('m', HOUR + 1, clock)).map((entry) => entry.sequence), [2], 'the range filters from the cached chunks');
  assert.equal(lists, 2);
  assert.deepEqual(await reader.points('other', 0, clock), []);
});

test('a failed read is not cached: the next request reads again', async () => {
  const file = new FileKvStore(mkdtempSync(join(tmpdir(), 'history-reader-')), 20);
  let down = true;
  const kv: KvStore = Object.assign(Object.create(file) as KvStore, { list: (prefix: string) => (down ? Promise.reject(new Error('down')) : file.list(prefix)) });
  const reader = new HistoryReader({ kv, logger: createLogger({ service: 'test', level: 'silent' }), now: () => HOUR });
  await assert.rejects(reader.points('m', 0, HOUR), /down/);
  down = false;
  assert.deepEqual(await reader.points('m', 0, HOUR), []);
});
