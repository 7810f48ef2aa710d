import type { ArtifactFormat } from '../artifacts/artifact-format.js';
import { loadLookupRuntime } from './lookup-model-runtime.js';
import type { ModelRuntime } from './model-runtime.js';
import { loadOnnxRuntime } from './onnx-model-runtime.js';

/** Per-format options for loading a runtime. */
export interface RuntimeOptions {
  onnxIntraOpThreads: number;
  lookupKeyField: string;
}

/** Loads a verified local artifact with the runtime for its format. */
export async function loadModelRuntime(format: ArtifactFormat, path: string, options: RuntimeOptions): Promise<ModelRuntime> {
  switch (format) {
    case 'onnx':
      return loadOnnxRuntime(path, { intraOpThreads: options.onnxIntraOpThreads });
    case 'lookup':
      return loadLookupRuntime(path, options.lookupKeyField);
  }
}
