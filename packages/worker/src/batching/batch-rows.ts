/**
 * Concatenating the inputs of several ModelInfer calls along the batch (first) dimension and
 * splitting the outputs back by row counts. Pure: tensors in, tensors out.
 */
import type { Tensor, TensorData, TensorSpec } from '@infermesh/shared';

type NumericData = Exclude<TensorData, Buffer[]>;

/**
 * Whether a model's calls may be concatenated: every input and output has a variable first
 * dimension, so rows are independent and the outputs carry one row per input row.
 */
export function hasBatchDimension(signature: { inputs: readonly TensorSpec[]; outputs: readonly TensorSpec[] }): boolean {
  const variableFirst = (spec: TensorSpec) => spec.shape.length > 0 && spec.shape[0] === -1;
  return signature.inputs.length > 0 && signature.inputs.every(variableFirst) && signature.outputs.every(variableFirst);
}

/**
 * What calls must share to be concatenated: input names, datatypes and the dimensions after
 * the first, and the outputs asked for (in order, so each call's response keeps its own order).
 */
export function batchKey(inputs: ReadonlyMap<string, Tensor>, outputNames: readonly string[]): string {
  const parts: string[] = [];
  // Sorted by name: clients may list the same inputs in any order.
  for (const name of [...inputs.keys()].sort()) {
    const tensor = inputs.get(name)!;
    parts.push(`${name}:${tensor.datatype}:${tensor.shape.slice(1).join('x')}`);
  }
  return `${parts.join('|')}>${outputNames.join('|')}`;
}

/** Rows of a call: the first dimension its inputs share (checked when the request was decoded). */
export function rowCount(inputs: ReadonlyMap<string, Tensor>): number {
  for (const tensor of inputs.values()) return tensor.shape[0] ?? 0;
  return 0;
}

/** The members' inputs concatenated row-wise, input by input; members share a {@link batchKey}. */
export function concatRows(members: readonly ReadonlyMap<string, Tensor>[]): Map<string, Tensor> {
  const first = members[0]!;
  const batch = new Map<string, Tensor>();
  for (const [name, tensor] of first) {
    const parts = members.map((member) => member.get(name)!);
    const rows = parts.reduce((sum, part) => sum + (part.shape[0] ?? 0), 0);
    batch.set(name, { name, datatype: tensor.datatype, shape: [rows, ...tensor.shape.slice(1)], data: concatData(parts.map((part) => part.data)) });
  }
  return batch;
}

/**
 * A batched answer split back per member by their row counts, or undefined when some output
 * does not carry one row per input row (the members must then run on their own).
 */
export function splitRows(outputs: readonly Tensor[], rowCounts: readonly number[]): Tensor[][] | undefined {
  const total = rowCounts.reduce((sum, rows) => sum + rows, 0);
  if (total === 0) return undefined;
  const split = rowCounts.map((): Tensor[] => []);
  for (const output of outputs) {
    if (output.shape[0] !== total || output.data.length % total !== 0) return undefined;
    const perRow = output.data.length / total;
    let row = 0;
    rowCounts.forEach((rows, member) => {
      split[member]!.push({
        name: output.name,
        datatype: output.datatype,
        shape: [rows, ...output.shape.slice(1)],
        data: sliceData(output.data, row * perRow, (row + rows) * perRow),
      });
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
  // A view, not a copy: each response is encoded from its own window of the batch's output.
  return Array.isArray(data) ? data.slice(start, end) : (data.subarray(start, end) as NumericData);
}
