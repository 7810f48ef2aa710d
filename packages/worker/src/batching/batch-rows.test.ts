import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { splitTensorRows, type Datatype, type Tensor } from '@infermesh/shared';
import { batchKey, concatRows, hasBatchDimension, rowCount } from './batch-rows.js';

/** Elements of one row for each datatype the property covers, from a seed. */
const ROW_MAKERS: Record<'FP32' | 'INT64' | 'BOOL' | 'BYTES' | 'FP64', (seed: number, width: number) => Tensor['data']> = {
  FP32: (seed, width) => Float32Array.from({ length: width }, (_, index) => seed * 0.25 + index),
  FP64: (seed, width) => Float64Array.from({ length: width }, (_, index) => seed / 3 - index),
  INT64: (seed, width) => BigInt64Array.from({ length: width }, (_, index) => BigInt(seed) * 2n ** 40n + BigInt(index)),
  BOOL: (seed, width) => Uint8Array.from({ length: width }, (_, index) => (seed + index) % 2),
  BYTES: (seed, width) => Array.from({ length: width }, (_, index) => Buffer.from(`${seed}-${index}`)),
};

function tensorOf(name: string, datatype: keyof typeof ROW_MAKERS, rows: number, width: number, seed: number): Tensor {
  const parts = Array.from({ length: rows }, (_, row) => ROW_MAKERS[datatype](seed * 100 + row, width));
  const data = datatype === 'BYTES' ? (parts as Buffer[][]).flat() : concatTyped(parts as Exclude<Tensor['data'], Buffer[]>[]);
  return { name, datatype: datatype as Datatype, shape: [rows, width], data };
}

function concatTyped(parts: Exclude<Tensor['data'], Buffer[]>[]): Tensor['data'] {
  const first = parts[0] ?? new Float32Array(0);
  const result = new (first.constructor as new (length: number) => Exclude<Tensor['data'], Buffer[]>)(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    (result as { set(source: ArrayLike<number | bigint>, offset: number): void }).set(part, offset);
    offset += part.length;
  }
  return result;
}

const datatypes = fc.constantFrom<keyof typeof ROW_MAKERS>('FP32', 'FP64', 'INT64', 'BOOL', 'BYTES');

test('splitting the concatenation of calls gives back each call, for every datatype and row count', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(datatypes, fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }), (columns, rowCounts) => {
      const members = rowCounts.map((rows, member) => new Map(columns.map(([datatype, width], index) => [`in${index}`, tensorOf(`in${index}`, datatype, rows, width, member)] as const)));
      const keys = new Set(members.map((member) => batchKey(member, ['out'])));
      assert.equal(keys.size, 1, 'calls that differ only in rows share a key');
      const batch = concatRows(members);
      assert.equal(rowCount(batch), rowCounts.reduce((sum, rows) => sum + rows, 0));
      // The "model" is the identity: its outputs are its inputs, so splitting must restore each call.
      const split = splitTensorRows([...batch.values()], rowCounts);
      assert.ok(split);
      split.forEach((outputs, member) => assert.deepEqual(outputs, [...members[member]!.values()]));
    }),
  );
});

test('calls that differ in anything but their rows have different keys', () => {
  const base = new Map([['x', tensorOf('x', 'FP32', 2, 4, 1)]]);
  const variants = [
    new Map([['x', tensorOf('x', 'FP32', 2, 3, 1)]]),
    new Map([['x', tensorOf('x', 'FP64', 2, 4, 1)]]),
    new Map([['y', tensorOf('y', 'FP32', 2, 4, 1)]]),
    new Map([['x', tensorOf('x', 'FP32', 2, 4, 1)], ['y', tensorOf('y', 'FP32', 2, 4, 1)]]),
  ];
  for (const variant of variants) assert.notEqual(batchKey(variant, ['out']), batchKey(base, ['out']));
  assert.notEqual(batchKey(base, ['a', 'b']), batchKey(base, ['b', 'a']), 'the requested outputs and their order are part of the key');
  const twoInputs = [tensorOf('a', 'FP32', 1, 2, 1), tensorOf('b', 'BOOL', 1, 2, 1)];
  assert.equal(batchKey(new Map(twoInputs.map((tensor) => [tensor.name, tensor])), ['o']), batchKey(new Map(twoInputs.reverse().map((tensor) => [tensor.name, tensor])), ['o']), 'input order does not matter');
});

test('outputs that are not one row per input row cannot be split', () => {
  const pooled: Tensor = { name: 'mean', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) };
  assert.equal(splitTensorRows([pooled], [2, 3]), undefined);
  assert.equal(splitTensorRows([{ ...pooled, shape: [5, 4] }], [2, 3]), undefined, 'data length disagrees with the shape');
});

test('only models with a variable first dimension on every input and output batch', () => {
  const spec = (shape: number[]) => ({ name: 't', datatype: 'FP32' as const, shape });
  assert.equal(hasBatchDimension({ inputs: [spec([-1, 4])], outputs: [spec([-1, 1])] }), true);
  assert.equal(hasBatchDimension({ inputs: [spec([1, 4])], outputs: [spec([-1, 1])] }), false, 'a fixed batch of one');
  assert.equal(hasBatchDimension({ inputs: [spec([-1, 4])], outputs: [spec([1])] }), false, 'an output pooled over the batch');
  assert.equal(hasBatchDimension({ inputs: [spec([])], outputs: [spec([-1])] }), false, 'a scalar input');
  assert.equal(hasBatchDimension({ inputs: [], outputs: [] }), false);
});
