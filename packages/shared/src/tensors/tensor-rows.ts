/**
 * Concatenating the rows of several calls into one batch tensor and splitting a batched answer
 * back, along the first (batch) dimension: the gateway batches predictions into one worker call,
 * the worker batches calls into one model run. Pure: typed arrays in, views of them out.
 */
import type { Tensor, TensorData } from './tensor.js';

type NumericData = Exclude<TensorData, Buffer[]>;

/** The members' tensors concatenated row-wise, tensor by tensor; members list the same tensors in the same order. */
export function concatTensorRows(members: readonly (readonly Tensor[])[]): Tensor[] {
  const first = members[0] ?? [];
  return first.map((tensor, index) => {
    const parts = members.map((member) => member[index]!);
    const rows = parts.reduce((sum, part) => sum + (part.shape[0] ?? 0), 0);
    return { name: tensor.name, datatype: tensor.datatype, shape: [rows, ...tensor.shape.slice(1)], data: concatData(parts.map((part) => part.data)) };
  });
}

/**
 * A batched answer split back per member by their row counts, or undefined when some output
 * does not carry one row per input row (its first dimension or its length disagree): the
 * members must then be run on their own.
 */
export function splitTensorRows(outputs: readonly Tensor[], rowCounts: readonly number[]): Tensor[][] | undefined {
  const total = rowCounts.reduce((sum, rows) => sum + rows, 0);
  if (total === 0) return undefined;
  const split = rowCounts.map((): Tensor[] => []);
  for (const output of outputs) {
    if (output.shape[0] !== total || output.data.length % total !== 0) return undefined;
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
  const result = new (first.constructor as new (length: number) => NumericData)(length);
  let offset = 0;
  for (const part of parts as NumericData[]) {
    (result as { set(source: ArrayLike<number | bigint>, offset: number): void }).set(part, offset);
    offset += part.length;
  }
  return result;
}

function sliceData(data: TensorData, start: number, end: number): TensorData {
  // A view, not a copy: each answer is encoded from its own window of the batch's output.
  return Array.isArray(data) ? data.slice(start, end) : (data.subarray(start, end) as NumericData);
}
