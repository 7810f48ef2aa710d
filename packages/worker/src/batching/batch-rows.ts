/**
 * Which ModelInfer calls may share a model run, and their inputs concatenated by name (the row
 * arithmetic itself is shared with the gateway's batcher).
 */
import { concatTensorRows, type Tensor, type TensorSpec } from '@infermesh/shared';

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
  const names = [...(members[0]?.keys() ?? [])];
  const batch = concatTensorRows(members.map((member) => names.map((name) => member.get(name)!)));
  return new Map(batch.map((tensor) => [tensor.name, tensor]));
}
