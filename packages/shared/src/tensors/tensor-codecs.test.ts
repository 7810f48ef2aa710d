import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InfermeshError } from '../errors/infermesh-error.js';
import { decodeTensorContents, encodeTensorContents } from './contents-tensor-codec.js';
import type { Datatype } from './datatype.js';
import { tensorFromJson, tensorToJson, type JsonTensorValue } from './json-tensor.js';
import { decodeRawTensor, encodeRawTensor } from './raw-tensor-codec.js';

/** Rectangular nested arrays of a given element arbitrary, with their shape. */
function nested<T>(element: fc.Arbitrary<T>): fc.Arbitrary<{ value: JsonTensorValue; shape: number[] }> {
  return fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }).chain((shape) => {
    const count = shape.reduce((a, b) => a * b, 1);
    return fc.array(element, { minLength: count, maxLength: count }).map((flat) => ({ value: reshape(flat as JsonTensorValue[], shape), shape }));
  });
}

function reshape(flat: JsonTensorValue[], shape: number[]): JsonTensorValue {
  if (shape.length === 1) return flat;
  const [, ...rest] = shape;
  const size = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0]! }, (_, row) => reshape(flat.slice(row * size, (row + 1) * size), rest));
}

const CASES: [Datatype, fc.Arbitrary<JsonTensorValue>][] = [
  ['FP64', fc.double({ noNaN: true, noDefaultInfinity: true })],
  ['FP32', fc.float({ noNaN: true, noDefaultInfinity: true }).map((value) => Math.fround(value))],
  ['INT32', fc.integer()],
  ['INT8', fc.integer({ min: -128, max: 127 })],
  ['UINT16', fc.integer({ min: 0, max: 65535 })],
  ['INT64', fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()))],
  ['BOOL', fc.boolean()],
  ['BYTES', fc.string()],
];

for (const [datatype, element] of CASES) {
  test(`${datatype}: JSON → tensor → raw → tensor → JSON and → contents → tensor → JSON are lossless`, () => {
    fc.assert(
      fc.property(nested(element), ({ value, shape }) => {
        const tensor = tensorFromJson('t', datatype, value);
        assert.deepEqual(tensor.shape, shape);
        const viaRaw = decodeRawTensor('t', datatype, encodeRawTensor(tensor.data));
        assert.deepEqual(tensorToJson({ ...tensor, data: viaRaw }), value);
        const contents = encodeTensorContents(datatype, tensor.data);
        const full = { boolContents: [], intContents: [], int64Contents: [], uintContents: [], uint64Contents: [], fp32Contents: [], fp64Contents: [], bytesContents: [], ...contents };
        const viaContents = decodeTensorContents('t', datatype, full as Parameters<typeof decodeTensorContents>[2]);
        assert.deepEqual(tensorToJson({ ...tensor, data: viaContents }), value);
      }),
    );
  });
}

test('tensorFromJson rejects ragged arrays, mixed nesting, wrong element types and out-of-range integers', () => {
  const rejects = (datatype: Datatype, value: unknown, pattern: RegExp) =>
    assert.throws(() => tensorFromJson('x', datatype, value), (error: InfermeshError) => error.code === 'INVALID_TENSOR' && pattern.test(error.message));
  rejects('FP32', [[1, 2], [3]], /not rectangular/);
  rejects('FP32', [1, [2]], /mixes scalars and arrays/);
  rejects('FP32', [[1], 2], /mixes scalars and arrays/);
  rejects('FP32', [1, 'a'], /element 1 must be a number/);
  rejects('INT8', [127, 128], /within the range of INT8/);
  rejects('INT64', [1.5], /an integer/);
  rejects('BOOL', [1], /true or false/);
  rejects('BYTES', [1], /a string/);
});

test('raw BYTES decoding rejects truncated length prefixes and elements', () => {
  assert.throws(() => decodeRawTensor('s', 'BYTES', Buffer.from([1, 0])), /inside a length prefix/);
  assert.throws(() => decodeRawTensor('s', 'BYTES', Buffer.from([5, 0, 0, 0, 65])), /5-byte element/);
});
