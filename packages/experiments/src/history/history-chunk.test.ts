import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_EXPERIMENT_VARIANTS, parseExperimentConfig } from '../config/experiment-config.js';
import type { ExperimentRecord } from '../records/experiment-record.js';
import {
  appendPoint,
  chunkKey,
  CONSUL_VALUE_LIMIT_BYTES,
  decodeChunk,
  emptyChunk,
  encodeChunk,
  MAX_CHUNK_BYTES,
  MINUTE_MS,
  parseChunkKey,
  type HistoryChunk,
} from './history-chunk.js';
import { historyPointOf, MAX_HISTORY_VARIANTS, type HistoryPoint } from './history-point.js';

const HOUR = Date.UTC(2026, 11, 7, 23);

function point(t: number, sequence: number, variants: HistoryPoint['variants'] = { a: { share: 0.5, trials: 10, rewardSum: 3, probabilityBest: 0.4 } }): HistoryPoint {
  return { t, sequence, variants };
}

function appended(chunk: HistoryChunk, next: HistoryPoint): HistoryChunk {
  const result = appendPoint(chunk, next);
  assert.ok('chunk' in result, `refused: ${'refused' in result ? result.refused : ''}`);
  return result.chunk;
}

test('keys name the UTC hour of minute chunks and the UTC day of hour chunks, under history/{model}/, and parse back', () => {
  assert.equal(chunkKey('churn', 'minute', HOUR), 'history/churn/minutes/2026-12-07T23');
  assert.equal(chunkKey('churn', 'hour', Date.UTC(2026, 11, 7)), 'history/churn/hours/2026-12-07');
  assert.deepEqual(parseChunkKey('churn', 'history/churn/minutes/2026-12-07T23'), { resolution: 'minute', start: HOUR });
  assert.deepEqual(parseChunkKey('churn', 'history/churn/hours/2026-12-07'), { resolution: 'hour', start: Date.UTC(2026, 11, 7) });
  for (const key of ['history/other/hours/2026-12-07', 'history/churn/hours/2026-12-07T01', 'history/churn/minutes/2026-12-07', 'history/churn/notes', 'stats/churn']) {
    assert.equal(parseChunkKey('churn', key), undefined, key);
  }
});

test('at most one point a minute: a second point of the same minute is refused whatever its sequence, a later minute is appended even with the same sequence', () => {
  let chunk = appended(emptyChunk('m', 'minute', HOUR + 5_000), point(HOUR + 5_000, 7));
  assert.deepEqual(appendPoint(chunk, point(HOUR + 50_000, 8)), { refused: 'slot-taken' });
  assert.deepEqual(appendPoint(chunk, point(HOUR + 1_000, 8)), { refused: 'slot-taken' }, 'an earlier time (a writer whose clock is behind) adds nothing');
  chunk = appended(chunk, point(HOUR + MINUTE_MS, 7));
  assert.deepEqual(chunk.points.map((entry) => entry.t), [HOUR + 5_000, HOUR + MINUTE_MS]);
  assert.deepEqual(appendPoint(chunk, point(HOUR + 60 * MINUTE_MS, 9)), { refused: 'other-chunk' }, 'the next hour is the next chunk');
});

test('a chunk survives encoding: optional fields absent stay absent, present ones come back', () => {
  let chunk = appended(emptyChunk('m', 'minute', HOUR), point(HOUR, 1));
  chunk = appended(chunk, point(HOUR + MINUTE_MS, 2, { a: { share: 0.25, trials: 4, rewardSum: -1.5, probabilityBest: 0.1, expectedLoss: 0.02, mean: 0.3 } }));
  assert.deepEqual(decodeChunk(encodeChunk(chunk)), chunk);
  assert.throws(() => decodeChunk('{"model":"m"}'), { code: 'INVALID_CONFIG' });
  assert.throws(() => decodeChunk(encodeChunk(chunk).replace('"fields":["share"', '"fields":["trials"')), { code: 'INVALID_CONFIG' });
});

test('a point keeps the record evidence, rounded, and reads expectedLoss and mean only when the record has them', () => {
  const record = {
    model: 'm',
    sequence: 12,
    generatedAt: HOUR + 1,
    layout: [['a', 0]],
    variants: {
      a: { trials: 1000.123456789, rewardSum: 12.3456789012, rewardSumSquares: 1, updatedAt: 0, share: 0.1234567, probabilityBest: 0.98765432, expectedLoss: 0.000123456789, mean: 0.5 },
      b: { trials: 3, rewardSum: 1, rewardSumSquares: 1, updatedAt: 0, share: 0, probabilityBest: 0.01 },
    },
  } as unknown as ExperimentRecord;
  assert.deepEqual(historyPointOf(record), {
    t: HOUR + 1,
    sequence: 12,
    variants: {
      a: { share: 0.123457, trials: 1000.12346, rewardSum: 12.3456789, probabilityBest: 0.987654, expectedLoss: 0.000123456789, mean: 0.5 },
      b: { share: 0, trials: 3, rewardSum: 1, probabilityBest: 0.01 },
    },
  });
});

test('a point of a record with more variants than the bound keeps those with traffic, then the most tried', () => {
  const variants = Object.fromEntries(
    Array.from({ length: MAX_HISTORY_VARIANTS + 3 }, (_, index) => [`v${String(index).padStart(2, '0')}`, { trials: index, rewardSum: 0, rewardSumSquares: 0, updatedAt: 0, share: index === 0 ? 1 : 0, probabilityBest: 0 }]),
  );
  const kept = Object.keys(historyPointOf({ model: 'm', sequence: 1, generatedAt: 0, layout: [['v00', 0]], variants } as unknown as ExperimentRecord).variants);
  assert.equal(kept.length, MAX_HISTORY_VARIANTS);
  assert.ok(kept.includes('v00'), 'the variant with traffic is kept though least tried');
  assert.ok(!kept.includes('v01') && !kept.includes('v02') && kept.includes('v34'));
});

test('an experiment may declare at most MAX_EXPERIMENT_VARIANTS variants', () => {
  const variant = (index: number) => ({ name: `v${index}`, pool: { static: ['127.0.0.1:1'] } });
  const experiment = (count: number) => JSON.stringify({ entityKey: 'u', policy: { type: 'weighted' }, variants: Array.from({ length: count }, (_, index) => variant(index)) });
  assert.equal(parseExperimentConfig('m', experiment(MAX_EXPERIMENT_VARIANTS)).variants.length, MAX_EXPERIMENT_VARIANTS);
  assert.throws(() => parseExperimentConfig('m', experiment(MAX_EXPERIMENT_VARIANTS + 1)), { code: 'INVALID_CONFIG' });
});

test('bounds: a full minute chunk at the worst case (60 points, the most variants, 128-character names, the longest rounded numbers) stays under MAX_CHUNK_BYTES, itself under Consul 512 KiB', () => {
  assert.ok(MAX_CHUNK_BYTES < CONSUL_VALUE_LIMIT_BYTES);
  const model = `m${'x'.repeat(127)}`;
  // After rounding, the longest JSON numbers: negative, 9 significant digits, just under 1e21 (printed without exponent).
  const longest = -123456789000000000000;
  const worst = { share: 0.123457, trials: 123456789000000000000, rewardSum: longest, probabilityBest: 0.123457, expectedLoss: 123456789000000000000, mean: longest };
  const variants = Object.fromEntries(Array.from({ length: MAX_HISTORY_VARIANTS }, (_, index) => [`${String(index).padStart(2, '0')}${'n'.repeat(126)}`, worst]));
  let chunk = emptyChunk(model, 'minute', HOUR);
  for (let minute = 0; minute < 60; minute += 1) chunk = appended(chunk, point(HOUR + minute * MINUTE_MS + 59_999, Number.MAX_SAFE_INTEGER, variants));
  const bytes = new TextEncoder().encode(encodeChunk(chunk)).length;
  assert.ok(bytes <= MAX_CHUNK_BYTES, `${bytes} bytes`);
  assert.ok(bytes > 0.9 * MAX_CHUNK_BYTES, `the worst case is close to the bound (${bytes} bytes), so the bound is not loose by accident`);
  // A random record, rounded into a point, is never longer than that worst case.
  for (const value of [-1.234567891234e20, 9.87654321987e-7, -0.000123456789123, 1e300, -1.23456789123e-300]) {
    const rounded = historyPointOf({ model: 'm', sequence: 1, generatedAt: 0, layout: [['a', 0]], variants: { a: { trials: Math.abs(value), rewardSum: value, rewardSumSquares: 0, updatedAt: 0, share: 0.1234567891, probabilityBest: 0.1234567891, expectedLoss: Math.abs(value), mean: value } } } as unknown as ExperimentRecord);
    const a = rounded.variants.a!;
    for (const field of [a.trials, a.rewardSum, a.expectedLoss!, a.mean!]) assert.ok(JSON.stringify(field).length <= JSON.stringify(longest).length, `${value} → ${field}`);
  }
});
