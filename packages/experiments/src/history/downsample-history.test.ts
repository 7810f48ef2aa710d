import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dueMaintenance, foldIntoHours, historyPointsBetween, HISTORY_KEPT_MS, MAX_MAINTENANCE_ACTIONS, MINUTE_POINTS_KEPT_MS } from './downsample-history.js';
import { appendPoint, chunkKey, chunkStartOf, DAY_MS, emptyChunk, encodeChunk, HOUR_MS, MAX_CHUNK_BYTES, MINUTE_MS, type HistoryChunk } from './history-chunk.js';
import type { HistoryPoint } from './history-point.js';

const DAY = Date.UTC(2026, 11, 1);
const point = (t: number, sequence = 1): HistoryPoint => ({ t, sequence, variants: { a: { share: 1, trials: sequence, rewardSum: 0, probabilityBest: 1 } } });

/** A chunk of each resolution holding the given points (which must fit its span). */
function chunkOf(resolution: 'minute' | 'hour', points: HistoryPoint[]): HistoryChunk {
  return { model: 'm', resolution, start: chunkStartOf(resolution, points[0]!.t), points };
}

test('folding keeps the last point of each hour, is idempotent and keeps hours folded before', () => {
  const minutes = chunkOf('minute', [point(DAY + 3 * HOUR_MS, 1), point(DAY + 3 * HOUR_MS + 30 * MINUTE_MS, 2), point(DAY + 3 * HOUR_MS + 59 * MINUTE_MS, 3)]);
  const earlier = chunkOf('hour', [point(DAY + HOUR_MS + 59 * MINUTE_MS, 0)]);
  const folded = foldIntoHours(earlier, minutes);
  assert.deepEqual(folded.points.map((entry) => entry.sequence), [0, 3]);
  assert.equal(folded.start, DAY);
  assert.equal(folded.resolution, 'hour');
  assert.deepEqual(foldIntoHours(folded, minutes), folded, 'folding again changes nothing');
  assert.deepEqual(foldIntoHours(undefined, minutes).points.map((entry) => entry.sequence), [3]);
});

test('maintenance folds minute chunks older than 7 days, deletes anything older than 90 days, oldest first and a few per round', () => {
  const now = DAY + 100 * DAY_MS;
  const keys = [
    chunkKey('m', 'minute', now - HOUR_MS), // current
    chunkKey('m', 'minute', chunkStartOf('minute', now - MINUTE_POINTS_KEPT_MS) - HOUR_MS), // ended just at 7 days: due
    chunkKey('m', 'minute', chunkStartOf('minute', now - MINUTE_POINTS_KEPT_MS)), // still running at 7 days: kept
    chunkKey('m', 'hour', chunkStartOf('hour', now - HISTORY_KEPT_MS) - DAY_MS), // ended at 90 days: deleted
    chunkKey('m', 'hour', chunkStartOf('hour', now - HISTORY_KEPT_MS)), // kept
    chunkKey('m', 'minute', chunkStartOf('minute', now - HISTORY_KEPT_MS) - 5 * HOUR_MS), // a forgotten minute chunk past 90 days: deleted, not folded
    'history/m/something-else',
  ];
  assert.deepEqual(dueMaintenance('m', keys, now), [
    { kind: 'delete', key: keys[3] },
    { kind: 'delete', key: keys[5] },
    { kind: 'fold', minuteKey: keys[1], hourKey: chunkKey('m', 'hour', chunkStartOf('minute', now - MINUTE_POINTS_KEPT_MS) - HOUR_MS) },
  ]);
  // An aggregator that was down for days: a backlog of minute chunks 20 days old, worked off a few at a time.
  const backlog = Array.from({ length: 50 }, (_, hour) => chunkKey('m', 'minute', DAY + 80 * DAY_MS + hour * HOUR_MS)).reverse();
  assert.equal(dueMaintenance('m', backlog, now).length, MAX_MAINTENANCE_ACTIONS);
  assert.deepEqual(dueMaintenance('m', backlog, now)[0], { kind: 'fold', minuteKey: backlog.at(-1), hourKey: chunkKey('m', 'hour', DAY + 80 * DAY_MS) });
});

test('a range shows minute points where the minute chunk still exists and hourly points elsewhere, sorted, bounds included', () => {
  const minutes = chunkOf('minute', [point(DAY + 2 * HOUR_MS, 5), point(DAY + 2 * HOUR_MS + MINUTE_MS, 6)]);
  const hours = chunkOf('hour', [point(DAY + HOUR_MS + 59 * MINUTE_MS, 4), point(DAY + 2 * HOUR_MS + MINUTE_MS, 6)]);
  assert.deepEqual(historyPointsBetween([minutes, hours], DAY, DAY + DAY_MS).map((entry) => entry.sequence), [4, 5, 6]);
  assert.deepEqual(historyPointsBetween([minutes, hours], DAY + 2 * HOUR_MS, DAY + 2 * HOUR_MS).map((entry) => entry.sequence), [5]);
  assert.deepEqual(historyPointsBetween([], 0, Number.MAX_SAFE_INTEGER), []);
});

test('property: whatever points arrive in whatever order, each chunk holds at most one point a minute, sorted, within its hour and under the bound; folding and reading keep them sorted and unique', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ t: fc.integer({ min: DAY, max: DAY + 3 * DAY_MS }), sequence: fc.nat({ max: 1000 }) }), { maxLength: 300 }), (arrivals) => {
      const chunks = new Map<number, HistoryChunk>();
      for (const arrival of arrivals) {
        const start = chunkStartOf('minute', arrival.t);
        const chunk = chunks.get(start) ?? emptyChunk('m', 'minute', arrival.t);
        const result = appendPoint(chunk, point(arrival.t, arrival.sequence));
        if ('chunk' in result) chunks.set(start, result.chunk);
      }
      for (const chunk of chunks.values()) {
        const slots = chunk.points.map((entry) => Math.floor(entry.t / MINUTE_MS));
        assert.ok(slots.every((slot, index) => index === 0 || slot > slots[index - 1]!), 'one point per minute, increasing');
        assert.ok(chunk.points.every((entry) => chunkStartOf('minute', entry.t) === chunk.start));
        assert.ok(chunk.points.length <= 60 && encodeChunk(chunk).length <= MAX_CHUNK_BYTES);
      }
      let hours: HistoryChunk | undefined;
      const firstDay = [...chunks.values()].filter((chunk) => chunkStartOf('hour', chunk.start) === DAY);
      for (const chunk of firstDay) hours = foldIntoHours(hours, chunk);
      if (hours !== undefined) {
        assert.ok(hours.points.length <= 24);
        assert.deepEqual(new Set(hours.points.map((entry) => Math.floor(entry.t / HOUR_MS))).size, hours.points.length);
      }
      const read = historyPointsBetween([...(hours === undefined ? [] : [hours]), ...chunks.values()], 0, Number.MAX_SAFE_INTEGER);
      assert.ok(read.every((entry, index) => index === 0 || entry.t > read[index - 1]!.t), 'read back sorted and unique');
      assert.equal(read.length, [...chunks.values()].reduce((sum, chunk) => sum + chunk.points.length, 0), 'every minute chunk still present wins over its hour');
    }),
    { numRuns: 200 },
  );
});
