import { decodeInferOutputs, encodeInferInputs, type Tensor } from '@infermesh/shared';
import type { ServedVariant } from '../models/served-model.js';

/** One prediction's worker call. */
export interface VariantCall {
  /** Model name on the workers. */
  workerModel: string;
  /** The ModelInfer request id when the call goes out alone. */
  id: string;
  tensors: Tensor[];
  /** Outputs asked for; empty for all. */
  outputs: string[];
  deadline: Date;
  requestId: string;
}

/** The variant's answer to one prediction: through its batcher when it batches, else one call on its pool. */
export async function inferOnVariant(variant: ServedVariant, call: VariantCall): Promise<{ outputs: Tensor[]; modelVersion: string }> {
  const { workerModel, id, tensors, outputs, deadline, requestId } = call;
  if (variant.batcher !== undefined) return variant.batcher.infer({ tensors, outputs, deadline, requestId });
  const result = await variant.pool.infer({ modelName: workerModel, id, ...encodeInferInputs(tensors), outputs: outputs.map((name) => ({ name })) }, { deadline, requestId });
  return { outputs: decodeInferOutputs(result.response), modelVersion: result.response.modelVersion };
}
