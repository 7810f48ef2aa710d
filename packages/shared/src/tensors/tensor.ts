import type { Datatype } from './datatype.js';

/**
 * Flattened, row-major tensor elements. BOOL is a Uint8Array of 0/1, FP16 its raw bits in
 * a Uint16Array, BYTES one Buffer per element.
 */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array
  | Buffer[];

/** A named tensor with its data; what runtimes consume and produce. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** Describes a tensor a model takes or returns; -1 marks a variable dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

/** Number of elements a shape holds. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((count, dim) => count * dim, 1);
}

/** `FP32 [-1,4]`: how error messages and help texts show a tensor spec. */
export function describeSpec(spec: TensorSpec): string {
  return `${spec.datatype} [${spec.shape.join(',')}]`;
}
