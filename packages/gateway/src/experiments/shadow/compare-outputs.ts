import type { Tensor } from '@infermesh/shared';

/** How a shadow's outputs relate to the live ones. */
export interface OutputComparison {
  /** Largest absolute difference over every numeric element of every shared output. */
  maxAbsDiff: number;
  /** Rows (last dimension) whose argmax agrees, over rows compared. */
  argmaxAgreed: number;
  rows: number;
  /** Outputs only one side returned, or whose shapes differ: not comparable. */
  mismatched: string[];
}

function numeric(tensor: Tensor): number[] | undefined {
  if (Array.isArray(tensor.data)) return undefined;
  return Array.from(tensor.data as ArrayLike<number | bigint>, Number);
}

function argmax(values: number[], from: number, to: number): number {
  let best = from;
  for (let index = from + 1; index < to; index += 1) if ((values[index] ?? -Infinity) > (values[best] ?? -Infinity)) best = index;
  return best - from;
}

/** Compares a shadow variant's outputs with the live variant's, output by output. */
export function compareOutputs(live: readonly Tensor[], shadow: readonly Tensor[]): OutputComparison {
  const shadowByName = new Map(shadow.map((tensor) => [tensor.name, tensor]));
  const result: OutputComparison = { maxAbsDiff: 0, argmaxAgreed: 0, rows: 0, mismatched: [] };
  for (const tensor of live) {
    const other = shadowByName.get(tensor.name);
    shadowByName.delete(tensor.name);
    const a = numeric(tensor);
    const b = other === undefined ? undefined : numeric(other);
    if (other === undefined || a === undefined || b === undefined || a.length !== b.length || tensor.shape.join() !== other.shape.join()) {
      if (other === undefined || a !== undefined || b !== undefined) result.mismatched.push(tensor.name);
      continue;
    }
    for (let index = 0; index < a.length; index += 1) result.maxAbsDiff = Math.max(result.maxAbsDiff, Math.abs((a[index] ?? 0) - (b[index] ?? 0)));
    const width = tensor.shape[tensor.shape.length - 1] ?? 1;
    // A single column is a score, not a class distribution: argmax would always agree.
    if (width < 2) continue;
    for (let row = 0; row + width <= a.length; row += width) {
      result.rows += 1;
      if (argmax(a, row, row + width) === argmax(b, row, row + width)) result.argmaxAgreed += 1;
    }
  }
  result.mismatched.push(...shadowByName.keys());
  return result;
}
