import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatTensorRows, type Tensor } from '@infermesh/shared';
import { batchKey, splitRows } from './tensor-rows.js';

const member = (rows: number, width: number, seed: number): Tensor[] => [
  { name: 'features', datatype: 'FP32', shape: [rows, width], data: Float32Array.from({ length: rows * width }, (_, index) => seed + index) },
  { name: 'ids', datatype: 'INT64', shape: [rows], data: BigInt64Array.from({ length: rows }, (_, index) => BigInt(seed * 1000 + index)) },
  { name: 'labels', datatype: 'BYTES', shape: [rows, 1], data: Array.from({ length: rows }, (_, index) => Buffer.from(`m${seed}-r${index}`)) },
];

test('concatenated rows split back into exactly each member\'s rows, for every datatype kind', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 4 }), (rowCounts, width) => {
      const members = rowCounts.map((rows, index) => member(rows, width, index * 100));
      const batch = concatTensorRows(members);
      const total = rowCounts.reduce((sum, rows) => sum + rows, 0);
      assert.deepEqual(batch.map((tensor) => tensor.shape[0]), [total, total, total]);
      assert.deepEqual(splitRows(batch, rowCounts), members);
    }),
  );
});

test('requests share a call only when all but their row counts agree', () => {
  const base = member(1, 4, 0);
  assert.equal(batchKey(base, ['p']), batchKey(member(3, 4, 7), ['p']), 'row counts and values may differ');
  assert.notEqual(batchKey(base, ['p']), batchKey(member(1, 5, 0), ['p']), 'another row width may not');
  assert.notEqual(batchKey(base, ['p']), batchKey(base, ['q']), 'other outputs may not');
  assert.notEqual(batchKey(base, []), batchKey([{ ...base[0]!, datatype: 'FP64', data: Float64Array.from([1, 2, 3, 4]) }, base[1]!, base[2]!], []), 'another datatype may not');
});

test('an output that is not one row per input row cannot be split', () => {
  const summary: Tensor = { name: 'mean', datatype: 'FP32', shape: [1], data: Float32Array.from([0.5]) };
  assert.throws(() => splitRows([summary], [2, 3]), { code: 'INTERNAL', message: /cannot be split per request/ });
});
