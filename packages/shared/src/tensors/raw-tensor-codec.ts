import { InfermeshError } from '../errors/infermesh-error.js';
import { elementByteSize, type Datatype } from './datatype.js';
import type { TensorData } from './tensor.js';

/** Bytes of the little-endian length that precedes each BYTES element in raw form. */
const BYTES_LENGTH_PREFIX = 4;

type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | BigUint64ArrayConstructor
  | BigInt64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

/** The typed array that holds a fixed-size datatype. */
export function typedArrayFor(datatype: Exclude<Datatype, 'BYTES'>): TypedArrayConstructor {
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
      return Uint8Array;
    case 'INT8':
      return Int8Array;
    case 'UINT16':
    case 'FP16':
      return Uint16Array;
    case 'INT16':
      return Int16Array;
    case 'UINT32':
      return Uint32Array;
    case 'INT32':
      return Int32Array;
    case 'UINT64':
      return BigUint64Array;
    case 'INT64':
      return BigInt64Array;
    case 'FP32':
      return Float32Array;
    case 'FP64':
      return Float64Array;
  }
}

/** Decodes one raw_input_contents entry; `name` only makes errors say which tensor. */
export function decodeRawTensor(name: string, datatype: Datatype, raw: Uint8Array): TensorData {
  if (datatype === 'BYTES') return decodeRawBytes(name, raw);
  const size = elementByteSize(datatype);
  if (raw.byteLength % size !== 0) {
    throw new InfermeshError(
      'INVALID_TENSOR',
      `raw contents of input '${name}' are ${raw.byteLength} bytes, not a multiple of ${size} (${datatype})`,
      { details: { tensor: name, datatype, bytes: raw.byteLength } },
    );
  }
  // Copy: gRPC buffers are slices of a larger buffer and rarely aligned for a typed array.
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  const TypedArray = typedArrayFor(datatype);
  return new TypedArray(copy.buffer, 0, raw.byteLength / size);
}

function decodeRawBytes(name: string, raw: Uint8Array): Buffer[] {
  const buffer = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const elements: Buffer[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    if (offset + BYTES_LENGTH_PREFIX > buffer.length) {
      throw new InfermeshError('INVALID_TENSOR', `raw BYTES contents of input '${name}' end inside a length prefix`, {
        details: { tensor: name, offset },
      });
    }
    const length = buffer.readUInt32LE(offset);
    offset += BYTES_LENGTH_PREFIX;
    if (offset + length > buffer.length) {
      throw new InfermeshError(
        'INVALID_TENSOR',
        `raw BYTES contents of input '${name}' announce a ${length}-byte element at offset ${offset - BYTES_LENGTH_PREFIX} but only ${buffer.length - offset} bytes follow`,
        { details: { tensor: name, offset } },
      );
    }
    elements.push(Buffer.from(buffer.subarray(offset, offset + length)));
    offset += length;
  }
  return elements;
}

/** Encodes tensor data in the raw little-endian layout of raw_output_contents. */
export function encodeRawTensor(data: TensorData): Buffer {
  if (Array.isArray(data)) {
    const parts: Buffer[] = [];
    for (const element of data) {
      const prefix = Buffer.allocUnsafe(BYTES_LENGTH_PREFIX);
      prefix.writeUInt32LE(element.length, 0);
      parts.push(prefix, element);
    }
    return Buffer.concat(parts);
  }
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
