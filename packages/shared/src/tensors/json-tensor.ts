import { InfermeshError } from '../errors/infermesh-error.js';
import type { Datatype } from './datatype.js';
import { typedArrayFor } from './raw-tensor-codec.js';
import type { Tensor, TensorData } from './tensor.js';

/** A JSON value a tensor is written as: nested arrays of numbers, booleans or strings. */
export type JsonTensorValue = number | boolean | string | JsonTensorValue[];

/**
 * Builds a tensor from nested JSON arrays (`[[1, 2], [3, 4]]` is shape [2, 2]). A scalar is
 * shape [1]. Errors name the tensor and say what is wrong, for REST and CLI clients.
 */
export function tensorFromJson(name: string, datatype: Datatype, value: unknown): Tensor {
  const shape: number[] = [];
  const flat: unknown[] = [];
  if (!Array.isArray(value)) {
    flat.push(value);
    shape.push(1);
  } else {
    flattenRectangular(name, value, 0, shape, flat);
  }
  return { name, datatype, shape, data: toTensorData(name, datatype, flat) };
}

function flattenRectangular(name: string, value: unknown[], depth: number, shape: number[], flat: unknown[]): void {
  if (shape.length === depth) shape.push(value.length);
  else if (shape[depth] !== value.length) {
    throw new InfermeshError('INVALID_TENSOR', `'${name}' is not rectangular: rows of length ${shape[depth]} and ${value.length} at depth ${depth}`, {
      details: { tensor: name },
    });
  }
  for (const item of value) {
    // Every leaf must sit at the same depth: the first leaf fixes the rank.
    const isLeafDepth = shape.length === depth + 1 && flat.length > 0;
    if (Array.isArray(item) && !isLeafDepth) {
      flattenRectangular(name, item, depth + 1, shape, flat);
    } else if (!Array.isArray(item) && (shape.length === depth + 1)) {
      flat.push(item);
    } else {
      throw new InfermeshError('INVALID_TENSOR', `'${name}' mixes scalars and arrays at depth ${depth + 1}`, { details: { tensor: name } });
    }
  }
}

function toTensorData(name: string, datatype: Datatype, flat: unknown[]): TensorData {
  const fail = (index: number, expected: string): never => {
    throw new InfermeshError('INVALID_TENSOR', `'${name}' is ${datatype}: element ${index} must be ${expected}, got ${JSON.stringify(flat[index])}`, {
      details: { tensor: name, datatype, index },
    });
  };
  switch (datatype) {
    case 'BYTES':
      return flat.map((item, index) => (typeof item === 'string' ? Buffer.from(item, 'utf8') : fail(index, 'a string')));
    case 'BOOL':
      return Uint8Array.from(flat, (item, index) => (typeof item === 'boolean' ? (item ? 1 : 0) : fail(index, 'true or false')));
    case 'INT64':
    case 'UINT64': {
      const values = flat.map((item, index) => {
        if (typeof item === 'number' && Number.isSafeInteger(item)) return BigInt(item);
        if (typeof item === 'string' && /^-?\d+$/.test(item)) return BigInt(item);
        return fail(index, 'an integer (a string for values beyond 2^53)');
      });
      return datatype === 'INT64' ? BigInt64Array.from(values) : BigUint64Array.from(values);
    }
    case 'FP16':
      return fail(0, 'sent as raw binary (FP16 has no JSON form)');
    case 'FP32':
    case 'FP64': {
      const values = flat.map((item, index) => (typeof item === 'number' ? item : fail(index, 'a number')));
      return datatype === 'FP32' ? Float32Array.from(values) : Float64Array.from(values);
    }
    default: {
      const TypedArray = typedArrayFor(datatype) as Int32ArrayConstructor;
      // A typed array silently wraps out-of-range values; write one and read it back to catch that.
      const probe = new TypedArray(1);
      return TypedArray.from(flat, (item, index) => {
        if (typeof item !== 'number' || !Number.isInteger(item)) return fail(index, 'an integer');
        probe[0] = item;
        return probe[0] === item ? item : fail(index, `an integer within the range of ${datatype}`);
      });
    }
  }
}

/** Writes a tensor as nested JSON arrays; 64-bit integers beyond 2^53 become strings. */
export function tensorToJson(tensor: Tensor): JsonTensorValue {
  const flat = flatJsonElements(tensor);
  if (tensor.shape.length === 0) return flat[0] ?? [];
  return nest(flat, tensor.shape, 0, 0).value;
}

function flatJsonElements(tensor: Tensor): JsonTensorValue[] {
  const { data } = tensor;
  if (Array.isArray(data)) return data.map((element) => element.toString('utf8'));
  if (tensor.datatype === 'BOOL') return Array.from(data as Uint8Array, (value) => value !== 0);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return Array.from(data as BigInt64Array, (value) => {
      const asNumber = Number(value);
      return Number.isSafeInteger(asNumber) ? asNumber : value.toString();
    });
  }
  return Array.from(data as Float64Array);
}

function nest(flat: JsonTensorValue[], shape: readonly number[], depth: number, offset: number): { value: JsonTensorValue[]; next: number } {
  const length = shape[depth] ?? 0;
  if (depth === shape.length - 1) return { value: flat.slice(offset, offset + length), next: offset + length };
  const rows: JsonTensorValue[] = [];
  let next = offset;
  for (let row = 0; row < length; row += 1) {
    const nested = nest(flat, shape, depth + 1, next);
    rows.push(nested.value);
    next = nested.next;
  }
  return { value: rows, next };
}
