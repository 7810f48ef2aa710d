/**
 * Which predictions may share a worker call, and splitting a batched answer back per prediction
 * (the row arithmetic itself is shared with the worker's batcher).
 */
import { InfermeshError, splitTensorRows, type Tensor } from '@infermesh/shared';

/**
 * Requests may share a call only if their tensors agree on everything but the row count:
 * names, datatypes and the dimensions after the first, in order, and the outputs they ask for.
 */
export function batchKey(tensors: readonly Tensor[], outputs: readonly string[]): string {
  return JSON.stringify([tensors.map((tensor) => [tensor.name, tensor.datatype, tensor.shape.slice(1)]), outputs]);
}

/** Rows of a request: the first dimension of its first tensor (all agree, checked by the key's shapes). */
export function rowsOf(tensors: readonly Tensor[]): number {
  return tensors[0]?.shape[0] ?? 0;
}

/**
 * A batched answer split back per member by their row counts. Throws INTERNAL when an output
 * does not carry one row per input row (a model whose outputs are not per row cannot be split:
 * the caller then calls for each member on its own).
 */
export function splitRows(outputs: readonly Tensor[], rowCounts: readonly number[]): Tensor[][] {
  const split = splitTensorRows(outputs, rowCounts);
  if (split !== undefined) return split;
  const total = rowCounts.reduce((sum, rows) => sum + rows, 0);
  const shapes = outputs.map((output) => `'${output.name}' [${output.shape.join(',')}]`).join(', ');
  throw new InfermeshError('INTERNAL', `outputs ${shapes} are not one row per input row (${total}): they cannot be split per request`);
}
