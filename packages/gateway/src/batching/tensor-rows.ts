/**
 * Concatenating the rows of several requests into one batch tensor and splitting a batched
 * answer back, along the first (batch) dimension. Pure: typed arrays in, typed arrays out.
 */
import { InfermeshError, type Tensor, type TensorData } from '@infermesh/shared';

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

/** The members' tensors concatenated row-wise, input by input. */
export function concatRows(members: readonly (readonly Tensor[])[]): Tensor[] {
  const first = members[0]!;
  return first.map((tensor, index) => {
    const parts = members.map((member) => member[index]!);
    const rows = parts.reduce((sum, part) => sum + (part.shape[0] ?? 0), 0);
    return { name: tensor.name, datatype: tensor.datatype, shape: [rows, ...tensor.shape.slice(1)], data: concatData(parts.map((part) => part.data)) };
  });
}

/**
 * A batched answer split back per member by their row counts. Throws INTERNAL when an output's
 * first dimension is not the batch's row count (a model whose outputs are not per row cannot be
 * split: the caller then calls for each member on its own).
 */
export function splitRows(outputs: readonly Tensor[], rowCounts: readonly number[]): Tensor[][] {
  const total = rowCounts.reduce((sum, rows) => sum + rows, 0);
  const split = rowCounts.map((): Tensor[] => []);
  for (const output of outputs) {
    if (output.shape[0] !== total) {
      throw new InfermeshError('INTERNAL', `output '${output.name}' has shape [${output.shape.join(',')}], not one row per input row (${total}): it cannot be split per request`);
    }
    const perRow = output.data.length / total;
    let row = 0;
    rowCounts.forEach((rows, member) => {
      split[member]!.push({ name: output.name, datatype: output.datatype, shape: [rows, ...output.shape.slice(1)], data: sliceData(output.data, row * perRow, (row + rows) * perRow) });
      row += rows;
    });
  }
  return split;
}

function concatData(parts: readonly TensorData[]): TensorData {
  const first = parts[0]!;
  if (Array.isArray(first)) return (parts as Buffer[][]).flat();
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const Constructor = first.constructor as new (length: number) => Exclude<TensorData, Buffer[]>;
  const result = new Constructor(length);
  let offset = 0;
  for (const part of parts as Exclude<TensorData, Buffer[]>[]) {
    (result as { set(source: ArrayLike<number | bigint>, offset: number): void }).set(part, offset);
    offset += part.length;
  }
  return result;
}

function sliceData(data: TensorData, start: number, end: number): TensorData {
  return Array.isArray(data) ? data.slice(start, end) : (data.subarray(start, end) as TensorData);
}
