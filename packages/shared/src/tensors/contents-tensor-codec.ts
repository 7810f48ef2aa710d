import type { InferTensorContents, InferTensorContents__Output } from '../generated/inference/InferTensorContents.js';
import { InfermeshError } from '../errors/infermesh-error.js';
import type { Datatype } from './datatype.js';
import type { TensorData } from './tensor.js';

/** The InferTensorContents field that carries a datatype's elements. */
export function contentsFieldFor(datatype: Datatype): keyof InferTensorContents__Output | undefined {
  switch (datatype) {
    case 'BOOL':
      return 'boolContents';
    case 'INT8':
    case 'INT16':
    case 'INT32':
      return 'intContents';
    case 'INT64':
      return 'int64Contents';
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      return 'uintContents';
    case 'UINT64':
      return 'uint64Contents';
    case 'FP32':
      return 'fp32Contents';
    case 'FP64':
      return 'fp64Contents';
    case 'BYTES':
      return 'bytesContents';
    case 'FP16':
      // The protocol has no typed field for FP16: raw contents only.
      return undefined;
  }
}

/** Decodes the typed `contents` of an input tensor; `name` only makes errors say which. */
export function decodeTensorContents(name: string, datatype: Datatype, contents: InferTensorContents__Output): TensorData {
  const field = contentsFieldFor(datatype);
  if (field === undefined) {
    throw new InfermeshError('INVALID_TENSOR', `input '${name}' is ${datatype}, which can only be sent as raw_input_contents`, {
      details: { tensor: name, datatype },
    });
  }
  const wrongField = (Object.keys(contents) as (keyof InferTensorContents__Output)[]).find(
    (key) => key !== field && contents[key].length > 0,
  );
  if (wrongField !== undefined) {
    throw new InfermeshError(
      'INVALID_TENSOR',
      `input '${name}' is ${datatype} and must carry its data in contents.${snakeCase(field)}, not contents.${snakeCase(wrongField)}`,
      { details: { tensor: name, datatype, expectedField: snakeCase(field), actualField: snakeCase(wrongField) } },
    );
  }
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(contents.boolContents, (value) => (value ? 1 : 0));
    case 'INT8':
      return Int8Array.from(contents.intContents);
    case 'INT16':
      return Int16Array.from(contents.intContents);
    case 'INT32':
      return Int32Array.from(contents.intContents);
    case 'INT64':
      return BigInt64Array.from(contents.int64Contents, (value) => BigInt(value));
    case 'UINT8':
      return Uint8Array.from(contents.uintContents);
    case 'UINT16':
      return Uint16Array.from(contents.uintContents);
    case 'UINT32':
      return Uint32Array.from(contents.uintContents);
    case 'UINT64':
      return BigUint64Array.from(contents.uint64Contents, (value) => BigInt(value));
    case 'FP32':
      return Float32Array.from(contents.fp32Contents);
    case 'FP64':
      return Float64Array.from(contents.fp64Contents);
    case 'BYTES':
      return contents.bytesContents.map((element) => Buffer.from(element));
    case 'FP16':
      throw new Error('unreachable: FP16 has no contents field');
  }
}

/** Encodes tensor data into the typed `contents` of an output tensor. */
export function encodeTensorContents(datatype: Datatype, data: TensorData): InferTensorContents {
  if (Array.isArray(data)) return { bytesContents: data };
  switch (datatype) {
    case 'BOOL':
      return { boolContents: Array.from(data as Uint8Array, (value) => value !== 0) };
    case 'INT8':
    case 'INT16':
    case 'INT32':
      return { intContents: Array.from(data as Int32Array) };
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      return { uintContents: Array.from(data as Uint32Array) };
    case 'INT64':
    case 'UINT64':
      return { [datatype === 'INT64' ? 'int64Contents' : 'uint64Contents']: Array.from(data as BigInt64Array, String) };
    case 'FP32':
      return { fp32Contents: Array.from(data as Float32Array) };
    case 'FP64':
      return { fp64Contents: Array.from(data as Float64Array) };
    case 'FP16':
    case 'BYTES':
      throw new InfermeshError('INTERNAL', `${datatype} output cannot be encoded as typed contents`);
  }
}

function snakeCase(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`).replace(/(\d+)/, '$1');
}
