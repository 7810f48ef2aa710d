import type { ModelRuntime } from './model-runtime.js';

/** A model version loaded into a runtime, as a worker serves it. */
export interface LoadedModel {
  name: string;
  version: string;
  runtime: ModelRuntime;
}
