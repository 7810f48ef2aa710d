import type { Tensor, TensorSpec } from '@infermesh/shared';

/** A loaded model that computes outputs from validated input tensors. */
export interface ModelRuntime {
  /** Open Inference Protocol platform name, e.g. `onnxruntime_onnx`. */
  readonly platform: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Runs the model; inputs match `inputs` (checked by the caller), outputs are those named. */
  infer(inputs: ReadonlyMap<string, Tensor>, outputNames: readonly string[]): Promise<Tensor[]>;
  /** Frees native resources; the runtime must not be used afterwards. */
  dispose(): Promise<void>;
}
