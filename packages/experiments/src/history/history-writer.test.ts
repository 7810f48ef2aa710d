import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger, FileKvStore, type KvStore } from '@infermesh/shared';
import type { ExperimentRecord } from '../records/experiment-record.js';
import { HISTORY_KEPT_MS, historyPointsBetween, MINUTE_POINTS_KEPT_MS } from './downsample-history.js';
import { chunkKey, decodeChunk, encodeChunk, DAY_MS, historyPrefixOf, HOUR_MS, MINUTE_MS } from './history-chunk.js';
import { HISTORY_MAINTENANCE_INTERVAL_MS, HistoryWriter } from './history-writer.js';

const START = Date.UTC(2026, 11, 1);

function record(generatedAt: number, sequence: number, model = 'm'): ExperimentRecord {
  return {
    model,
    sequence,
    generatedAt,
    layout: [['a', 0], ['b', 0.5]],
    variants: {
      a: { trials: sequence, rewardSum: 1, rewardSumSquares: 1, updatedAt: generatedAt, share: 0.5, probabilityBest: 0.5 },
      b: { trials: sequence, rewardSum: 2, rewardSumSquares: 2, updatedAt: generatedAt, share: 0.5, probabilityBest: 0.5 },
    },
  };
}

function setup(): { kv: FileKvStore; writer: () => HistoryWriter; lines: { level: number; msg: string }[] } {
  const kv = new FileKvStore(mkdtempSync(join(tmpdir(), 'history-')), 20);
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger({ service: 'test', level: 'info', destination: { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) } });
  return { kv, lines, writer: () => new HistoryWriter({ kv, logger }) };
}

async function allPoints(kv: KvStore, model = 'm') {
  const chunks = (await kv.list(historyPrefixOf(model))).map((entry) => decodeChunk(entry.value));
  return historyPointsBetween(chunks, 0, Number.MAX_SAFE_INTEGER);
}

test('two writers racing on every publication store exactly one point per minute, the first of each minute', async () => {
  const { kv, writer } = setup();
  const [first, second] = [writer(), writer()];
  // Both publish every 10 s for 90 minutes, as two aggregator instances would, and race each time.
  for (let at = START; at < START + 90 * MINUTE_MS; at += 10_000) {
    const outcomes = await Promise.all([first.append(record(at, at), at), second.append(record(at + 1, at), at + 1)]);
    assert.ok(outcomes.filter((outcome) => outcome === 'appended').length <= 1, `at ${at}: ${outcomes.join()}`);
  }
  const points = await allPoints(kv);
  assert.equal(points.length, 90);
  assert.ok(points.every((point, index) => point.t === START + index * MINUTE_MS || point.t === START + index * MINUTE_MS + 1), 'one per minute, at its first publication');
  assert.deepEqual((await kv.keys(historyPrefixOf('m'))), [chunkKey('m', 'minute', START), chunkKey('m', 'minute', START + HOUR_MS)]);
});

test('a new writer (an aggregator restarted) continues the same history without duplicating the current minute', async () => {
  const { kv, writer } = setup();
  assert.equal(await writer().append(record(START, 1), START), 'appended');
  assert.equal(await writer().append(record(START + 30_000, 2), START + 30_000), 'slot-taken');
  assert.equal(await writer().append(record(START + MINUTE_MS, 2), START + MINUTE_MS), 'appended');
  assert.deepEqual((await allPoints(kv)).map((point) => point.sequence), [1, 2]);
});

test('maintenance folds minute chunks older than 7 days into hourly points, deletes history older than 90 days, and only every interval', async () => {
  const { kv, writer } = setup();
  const history = writer();
  // Three hours of minute points, written long ago; an hour chunk far past retention.
  for (let at = START; at < START + 3 * HOUR_MS; at += MINUTE_MS) await history.append(record(at, at), START);
  const ancient = chunkKey('m', 'hour', START - 100 * DAY_MS);
  await kv.compareAndSet(ancient, encodeChunk({ model: 'm', resolution: 'hour', start: START - 100 * DAY_MS, points: [] }), 0);
  assert.equal((await allPoints(kv)).length, 180);

  const later = START + MINUTE_POINTS_KEPT_MS + 3 * HOUR_MS;
  const restarted = writer();
  await restarted.append(record(later, 1), later);
  const points = await allPoints(kv);
  assert.deepEqual(points.map((point) => point.t), [START + 59 * MINUTE_MS, START + HOUR_MS + 59 * MINUTE_MS, START + 2 * HOUR_MS + 59 * MINUTE_MS, later], 'the last point of each hour, then the new minute point');
  assert.deepEqual(await kv.keys(historyPrefixOf('m')), [chunkKey('m', 'hour', START), chunkKey('m', 'minute', later)], 'minute chunks folded and deleted, the ancient chunk deleted');

  // Past 90 days the hour chunk goes too, at the next round (not before the interval).
  const end = START + HISTORY_KEPT_MS + DAY_MS;
  await restarted.append(record(end, 2), end - HISTORY_KEPT_MS + HISTORY_MAINTENANCE_INTERVAL_MS - 1);
  assert.ok((await kv.keys(historyPrefixOf('m'))).includes(chunkKey('m', 'hour', START)), 'no round before the interval');
  await restarted.append(record(end + MINUTE_MS, 3), end);
  assert.deepEqual(await kv.keys(historyPrefixOf('m')), [chunkKey('m', 'hour', later), chunkKey('m', 'minute', end)], 'the first day deleted; the minute point of day 8 folded into its day');
});

test('an unreachable KV makes append answer failed (logged once), never throw; an unreadable chunk is started again', async () => {
  const { kv, lines } = setup();
  let down = true;
  const flaky: KvStore = Object.assign(Object.create(kv) as KvStore, {
    get: (key: string) => (down ? Promise.reject(new Error('connection refused')) : kv.get(key)),
  });
  const history = new HistoryWriter({ kv: flaky, logger: createLogger({ service: 'test', level: 'info', destination: { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) } }) });
  assert.equal(await history.append(record(START, 1), START), 'failed');
  assert.equal(await history.append(record(START + 1, 1), START + 1), 'failed');
  assert.equal(lines.filter((line) => /cannot write the experiment history/.test(line.msg)).length, 1);
  down = false;
  await kv.compareAndSet(chunkKey('m', 'minute', START), 'not json', 0);
  assert.equal(await history.append(record(START + 2, 1), START + 2), 'appended');
  assert.deepEqual((await allPoints(kv)).map((point) => point.t), [START + 2]);
  assert.ok(lines.some((line) => /unreadable history chunk/.test(line.msg)));
  assert.ok(lines.some((line) => /writing the experiment history again/.test(line.msg)));
});
