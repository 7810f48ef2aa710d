import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DATATYPES, httpStatusFor, InfermeshError, type Datatype, type TensorData } from '@infermesh/shared';
import {
  binaryDataSizeOf,
  binaryTensorBytes,
  booleanParameter,
  decodeBinaryInputs,
  frameBinaryResponse,
  parseHeaderLength,
  parseInferBody,
  wantsBinaryOutput,
  type BinaryInputRef,
} from './binary-tensor-extension.js';

/**
 * The test writes and reads the extension's layout itself, element by element through a
 * DataView (little-endian), as a Triton client does: independent of the typed-array codec.
 */
type Element = number | bigint | boolean | Uint8Array;

interface Layout {
  size?: number;
  element: fc.Arbitrary<Element>;
  write(view: DataView, offset: number, value: Element): void;
  read(view: DataView, offset: number): Element;
}

const LAYOUTS: Record<Exclude<Datatype, 'BYTES'>, Layout> = {
  BOOL: { size: 1, element: fc.boolean(), write: (v, o, x) => v.setUint8(o, x ? 1 : 0), read: (v, o) => v.getUint8(o) === 1 },
  UINT8: { size: 1, element: fc.integer({ min: 0, max: 255 }), write: (v, o, x) => v.setUint8(o, x as number), read: (v, o) => v.getUint8(o) },
  INT8: { size: 1, element: fc.integer({ min: -128, max: 127 }), write: (v, o, x) => v.setInt8(o, x as number), read: (v, o) => v.getInt8(o) },
  UINT16: { size: 2, element: fc.integer({ min: 0, max: 65535 }), write: (v, o, x) => v.setUint16(o, x as number, true), read: (v, o) => v.getUint16(o, true) },
  INT16: { size: 2, element: fc.integer({ min: -32768, max: 32767 }), write: (v, o, x) => v.setInt16(o, x as number, true), read: (v, o) => v.getInt16(o, true) },
  // FP16 travels as its raw bits.
  FP16: { size: 2, element: fc.integer({ min: 0, max: 65535 }), write: (v, o, x) => v.setUint16(o, x as number, true), read: (v, o) => v.getUint16(o, true) },
  UINT32: { size: 4, element: fc.nat({ max: 2 ** 32 - 1 }), write: (v, o, x) => v.setUint32(o, x as number, true), read: (v, o) => v.getUint32(o, true) },
  INT32: { size: 4, element: fc.integer(), write: (v, o, x) => v.setInt32(o, x as number, true), read: (v, o) => v.getInt32(o, true) },
  FP32: { size: 4, element: fc.float(), write: (v, o, x) => v.setFloat32(o, x as number, true), read: (v, o) => v.getFloat32(o, true) },
  UINT64: { size: 8, element: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), write: (v, o, x) => v.setBigUint64(o, x as bigint, true), read: (v, o) => v.getBigUint64(o, true) },
  INT64: { size: 8, element: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), write: (v, o, x) => v.setBigInt64(o, x as bigint, true), read: (v, o) => v.getBigInt64(o, true) },
  FP64: { size: 8, element: fc.double(), write: (v, o, x) => v.setFloat64(o, x as number, true), read: (v, o) => v.getFloat64(o, true) },
};

/** A tensor as a client holds it: its shape and its elements. */
interface ClientTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  elements: Element[];
}

function clientTensor(datatype: Datatype, name: string): fc.Arbitrary<ClientTensor> {
  const element = datatype === 'BYTES' ? fc.uint8Array({ maxLength: 12 }) : LAYOUTS[datatype].element;
  return fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }).chain((shape) => {
    const count = shape.reduce((a, b) => a * b, 1);
    return fc.array(element, { minLength: count, maxLength: count }).map((elements) => ({ name, datatype, shape, elements }));
  });
}

/** The tensor's bytes as the extension lays them out (BYTES: 4-byte little-endian length, then the bytes). */
function clientBytes(tensor: ClientTensor): Buffer {
  if (tensor.datatype === 'BYTES') {
    return Buffer.concat(tensor.elements.flatMap((element) => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32LE((element as Uint8Array).length);
      return [prefix, Buffer.from(element as Uint8Array)];
    }));
  }
  const layout = LAYOUTS[tensor.datatype];
  const bytes = Buffer.alloc(tensor.elements.length * layout.size!);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  tensor.elements.forEach((element, index) => layout.write(view, index * layout.size!, element));
  return bytes;
}

function clientRead(datatype: Datatype, bytes: Buffer): Element[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: Element[] = [];
  if (datatype === 'BYTES') {
    for (let offset = 0; offset < bytes.length; ) {
      const length = view.getUint32(offset, true);
      elements.push(new Uint8Array(bytes.subarray(offset + 4, offset + 4 + length)));
      offset += 4 + length;
    }
    return elements;
  }
  const layout = LAYOUTS[datatype];
  for (let offset = 0; offset < bytes.length; offset += layout.size!) elements.push(layout.read(view, offset));
  return elements;
}

/** Elements of decoded tensor data, comparable with what the client wrote. */
function elementsOf(datatype: Datatype, data: TensorData): Element[] {
  if (Array.isArray(data)) return data.map((element) => new Uint8Array(element));
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (value) => value === 1);
  return Array.from(data as ArrayLike<number | bigint>);
}

function sameElements(actual: Element[], expected: Element[]): void {
  assert.equal(actual.length, expected.length);
  // Object.is: NaN equals NaN and -0 differs from 0, as bits do.
  actual.forEach((value, index) => assert.ok(value instanceof Uint8Array ? Buffer.from(value).equals(Buffer.from(expected[index] as Uint8Array)) : Object.is(value, expected[index]), `element ${index}: ${String(value)} ≠ ${String(expected[index])}`));
}

/** A request body as tritonclient builds it: JSON header, then each binary input's bytes in input order. */
function clientRequest(tensors: readonly ClientTensor[]): { body: Buffer; headerLength: string } {
  const parts = tensors.map(clientBytes);
  const header = Buffer.from(JSON.stringify({
    inputs: tensors.map((tensor, index) => ({ name: tensor.name, shape: tensor.shape, datatype: tensor.datatype, parameters: { binary_data_size: parts[index]!.length } })),
  }));
  return { body: Buffer.concat([header, ...parts]), headerLength: String(header.length) };
}

function refsOf(request: unknown): BinaryInputRef[] {
  return (request as { inputs: { name: string; datatype: Datatype; shape: number[]; parameters: Record<string, unknown> }[] }).inputs.map((input) => ({
    name: input.name,
    datatype: input.datatype,
    shape: input.shape,
    binaryDataSize: binaryDataSizeOf(input.name, input.parameters)!,
  }));
}

const anyTensors = fc.array(fc.constantFrom(...DATATYPES), { minLength: 1, maxLength: 4 }).chain((datatypes) =>
  fc.tuple(...datatypes.map((datatype, index) => clientTensor(datatype, `input${index}`))),
);

for (const datatype of DATATYPES) {
  test(`${datatype}: a client's binary input decodes to the elements it wrote, and a binary output reads back the same`, () => {
    fc.assert(
      fc.property(clientTensor(datatype, 'x'), (tensor) => {
        const { body, headerLength } = clientRequest([tensor]);
        const parsed = parseInferBody(body, headerLength);
        const [data] = decodeBinaryInputs(refsOf(parsed.request), parsed.binary!);
        sameElements(elementsOf(datatype, data!), tensor.elements);

        const bytes = binaryTensorBytes({ name: 'y', datatype, shape: tensor.shape, data: data! });
        const framed = frameBinaryResponse({ outputs: [{ name: 'y', parameters: { binary_data_size: bytes.length } }] }, [bytes]);
        const header = JSON.parse(framed.body.subarray(0, framed.headerLength).toString('utf8')) as { outputs: { parameters: { binary_data_size: number } }[] };
        assert.equal(header.outputs[0]!.parameters.binary_data_size, framed.body.length - framed.headerLength);
        sameElements(clientRead(datatype, framed.body.subarray(framed.headerLength)), tensor.elements);
      }),
    );
  });
}

test('several binary inputs of mixed datatypes are cut in input order', () => {
  fc.assert(
    fc.property(anyTensors, (tensors) => {
      const { body, headerLength } = clientRequest(tensors);
      const parsed = parseInferBody(body, headerLength);
      const decoded = decodeBinaryInputs(refsOf(parsed.request), parsed.binary!);
      tensors.forEach((tensor, index) => sameElements(elementsOf(tensor.datatype, decoded[index]!), tensor.elements));
    }),
  );
});

test('without Inference-Header-Content-Length the whole body is JSON and there is no binary part', () => {
  const parsed = parseInferBody(Buffer.from('{"inputs":[]}'), undefined);
  assert.deepEqual(parsed, { request: { inputs: [] }, binary: undefined });
  const whole = parseInferBody(Buffer.from('{"a":1}'), '7');
  assert.deepEqual(whole.binary, Buffer.alloc(0));
});

test('binary BOOL outputs are single 0/1 bytes whatever non-zero value the worker used', () => {
  assert.deepEqual([...binaryTensorBytes({ name: 'b', datatype: 'BOOL', shape: [3], data: Uint8Array.from([0, 1, 7]) })], [0, 1, 1]);
});

test("an output's binary_data overrides the request's binary_data_output", () => {
  assert.equal(wantsBinaryOutput(undefined, undefined), false);
  assert.equal(wantsBinaryOutput(true, undefined), true);
  assert.equal(wantsBinaryOutput(true, false), false);
  assert.equal(wantsBinaryOutput(false, true), true);
  assert.equal(wantsBinaryOutput(undefined, true), true);
});

const fp32 = (name: string, shape: number[], binaryDataSize: number): BinaryInputRef => ({ name, datatype: 'FP32', shape, binaryDataSize });
const bytesElement = (text: string) => {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(Buffer.byteLength(text));
  return Buffer.concat([prefix, Buffer.from(text)]);
};

/** Each malformed request, and the code and message fragment its 4xx error must carry. */
const MALFORMED: { name: string; run: () => unknown; code: string; message: RegExp }[] = [
  { name: 'header length beyond the body', run: () => parseInferBody(Buffer.from('{"inputs":[]}'), '14'), code: 'INVALID_ARGUMENT', message: /is 14 but the body has only 13 bytes/ },
  { name: 'negative header length', run: () => parseHeaderLength('-1', 10), code: 'INVALID_ARGUMENT', message: /non-negative integer, got '-1'/ },
  { name: 'NaN header length', run: () => parseHeaderLength('NaN', 10), code: 'INVALID_ARGUMENT', message: /non-negative integer/ },
  { name: 'empty header length', run: () => parseHeaderLength('', 10), code: 'INVALID_ARGUMENT', message: /non-negative integer/ },
  { name: 'fractional header length', run: () => parseHeaderLength('5.0', 10), code: 'INVALID_ARGUMENT', message: /non-negative integer/ },
  { name: 'exponent header length', run: () => parseHeaderLength('1e1', 10), code: 'INVALID_ARGUMENT', message: /non-negative integer/ },
  { name: 'repeated header (joined by Node)', run: () => parseHeaderLength('5, 5', 10), code: 'INVALID_ARGUMENT', message: /non-negative integer/ },
  { name: 'header length past 2^53', run: () => parseHeaderLength('99999999999999999999', 10), code: 'INVALID_ARGUMENT', message: /non-negative integer/ },
  { name: 'header length cutting the JSON', run: () => parseInferBody(Buffer.from('{"inputs":[]}'), '5'), code: 'MALFORMED_JSON', message: /first 5 bytes/ },
  { name: 'JSON header not UTF-8', run: () => parseInferBody(Buffer.from([0x22, 0xff, 0x22]), '3'), code: 'MALFORMED_JSON', message: /UTF-8/ },
  { name: 'binary part shorter than announced', run: () => decodeBinaryInputs([fp32('a', [2], 8), fp32('b', [1], 4)], Buffer.alloc(8)), code: 'INVALID_ARGUMENT', message: /announce 12 bytes .*'a' 8, 'b' 4.* but 8 bytes follow/ },
  { name: 'binary part longer than announced', run: () => decodeBinaryInputs([fp32('a', [2], 8)], Buffer.alloc(9)), code: 'INVALID_ARGUMENT', message: /announce 8 bytes .* but 9 bytes follow/ },
  { name: 'binary bytes but no binary input', run: () => decodeBinaryInputs([], Buffer.alloc(4)), code: 'INVALID_ARGUMENT', message: /announce 0 bytes .*none.* 4 bytes follow/ },
  { name: 'binary_data_size not matching the shape', run: () => decodeBinaryInputs([fp32('features', [2, 2], 12)], Buffer.alloc(12)), code: 'INVALID_TENSOR', message: /input 'features' is FP32 \[2,2\]: its binary data must be 16 bytes .* binary_data_size is 12/ },
  { name: 'sizes swapped between two inputs', run: () => decodeBinaryInputs([fp32('a', [1], 8), fp32('b', [2], 4)], Buffer.alloc(12)), code: 'INVALID_TENSOR', message: /input 'a' is FP32 \[1\]/ },
  { name: 'FP64 size not a multiple of 8', run: () => decodeBinaryInputs([{ name: 'd', datatype: 'FP64', shape: [1], binaryDataSize: 7 }], Buffer.alloc(7)), code: 'INVALID_TENSOR', message: /input 'd'/ },
  { name: 'BYTES element count below the shape', run: () => decodeBinaryInputs([{ name: 'labels', datatype: 'BYTES', shape: [3], binaryDataSize: 13 }], Buffer.concat([bytesElement('café'), bytesElement('')])), code: 'INVALID_TENSOR', message: /input 'labels' is BYTES \[3\] \(3 elements\) but its binary data holds 2/ },
  { name: 'BYTES element count above the shape', run: () => decodeBinaryInputs([{ name: 'labels', datatype: 'BYTES', shape: [1], binaryDataSize: 10 }], Buffer.concat([bytesElement('ab'), bytesElement('')])), code: 'INVALID_TENSOR', message: /holds 2/ },
  { name: 'BYTES ending inside a length prefix', run: () => decodeBinaryInputs([{ name: 'labels', datatype: 'BYTES', shape: [1], binaryDataSize: 6 }], Buffer.concat([bytesElement(''), Buffer.alloc(2)])), code: 'INVALID_TENSOR', message: /'labels' end inside a length prefix/ },
  { name: 'BYTES element longer than the data', run: () => decodeBinaryInputs([{ name: 'labels', datatype: 'BYTES', shape: [1], binaryDataSize: 5 }], Buffer.from([9, 0, 0, 0, 65])), code: 'INVALID_TENSOR', message: /'labels' announce a 9-byte element/ },
  { name: 'BOOL byte other than 0 or 1', run: () => decodeBinaryInputs([{ name: 'flags', datatype: 'BOOL', shape: [2], binaryDataSize: 2 }], Buffer.from([1, 2])), code: 'INVALID_TENSOR', message: /input 'flags' is BOOL: element 1 is byte 2/ },
  { name: 'negative binary_data_size', run: () => binaryDataSizeOf('x', { binary_data_size: -1 }), code: 'INVALID_ARGUMENT', message: /input 'x': parameters.binary_data_size must be a non-negative integer, got -1/ },
  { name: 'fractional binary_data_size', run: () => binaryDataSizeOf('x', { binary_data_size: 1.5 }), code: 'INVALID_ARGUMENT', message: /input 'x'.*got 1.5/ },
  { name: 'string binary_data_size', run: () => binaryDataSizeOf('x', { binary_data_size: '16' }), code: 'INVALID_ARGUMENT', message: /input 'x'.*got "16"/ },
  { name: 'null binary_data_size', run: () => binaryDataSizeOf('x', { binary_data_size: null }), code: 'INVALID_ARGUMENT', message: /input 'x'.*got null/ },
  { name: 'negative size handed to the decoder directly', run: () => decodeBinaryInputs([fp32('a', [0], -4)], Buffer.alloc(0)), code: 'INVALID_ARGUMENT', message: /input 'a'/ },
  { name: 'binary_data not a boolean', run: () => booleanParameter("output 'p'", { binary_data: 'yes' }, 'binary_data'), code: 'INVALID_ARGUMENT', message: /output 'p': parameters.binary_data must be true or false/ },
];

for (const malformed of MALFORMED) {
  test(`malformed: ${malformed.name} → ${malformed.code}`, () => {
    assert.throws(malformed.run, (error: unknown) => {
      assert.ok(error instanceof InfermeshError, `not an InfermeshError: ${String(error)}`);
      assert.equal(error.code, malformed.code);
      const status = httpStatusFor(error.code);
      assert.ok(status >= 400 && status < 500, `status ${status}`);
      assert.match(error.message, malformed.message);
      return true;
    });
  });
}

test('arbitrary header lengths, bodies and announced inputs yield a result or a typed 4xx error, nothing else', () => {
  const headerLength = fc.oneof(fc.nat({ max: 64 }).map(String), fc.string({ maxLength: 8 }), fc.constantFrom('-1', 'NaN', '1e2', ' 3', '0x4', '18446744073709551616'));
  const ref = fc.record({
    name: fc.constantFrom('a', 'b'),
    datatype: fc.constantFrom(...DATATYPES),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
    binaryDataSize: fc.oneof(fc.integer({ min: -2, max: 40 }), fc.constant(1.5), fc.constant(Number.MAX_SAFE_INTEGER)),
  });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.option(headerLength, { nil: undefined }), fc.array(ref, { maxLength: 3 }), (bytes, length, refs) => {
      const typed4xx = (error: unknown) => error instanceof InfermeshError && httpStatusFor(error.code) >= 400 && httpStatusFor(error.code) < 500;
      try {
        parseInferBody(Buffer.from(bytes), length);
      } catch (error) {
        assert.ok(typed4xx(error), String(error));
      }
      try {
        decodeBinaryInputs(refs, Buffer.from(bytes));
      } catch (error) {
        assert.ok(typed4xx(error), String(error));
      }
    }),
    { numRuns: 2_000 },
  );
});
