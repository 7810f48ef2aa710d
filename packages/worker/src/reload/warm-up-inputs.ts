import { elementCount, typedArrayFor, type Tensor, type TensorSpec } from '@infermesh/shared';

/** One batch row of zeros (empty strings for BYTES) for each input: enough to exercise every kernel once. */
export function warmUpInputs(specs: readonly TensorSpec[]): Map<string, Tensor> {
  const inputs = new Map<string, Tensor>();
  for (const spec of specs) {
    const shape = spec.shape.map((dim) => (dim < 0 ? 1 : dim));
    const count = elementCount(shape);
    const data = spec.datatype === 'BYTES' ? Array.from({ length: count }, () => Buffer.alloc(0)) : new (typedArrayFor(spec.datatype))(count);
    inputs.set(spec.name, { name: spec.name, datatype: spec.datatype, shape, data });
  }
  return inputs;
}
