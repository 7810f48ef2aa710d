import { InfermeshError, type ArtifactRef, type Logger, type TensorSpec } from '@infermesh/shared';
import { resolveArtifactFormat } from '../artifacts/artifact-format.js';
import type { ArtifactCache } from '../artifacts/artifact-cache.js';
import type { loadModelRuntime, RuntimeOptions } from '../runtime/load-model-runtime.js';
import type { LoadedModel } from '../runtime/loaded-model.js';
import { ALLOW_INPUT_CHANGE_FLAG, checkInputCompatibility } from './check-compatibility.js';
import { warmUpInputs } from './warm-up-inputs.js';

/** Milliseconds each stage of a load took. */
export interface LoadTimings {
  fetchMs: number;
  verifyMs: number;
  loadMs: number;
  warmupMs: number;
}

/** What the loader needs. */
export interface ModelLoaderDependencies {
  cache: ArtifactCache;
  loadRuntime: typeof loadModelRuntime;
  runtimeOptions: RuntimeOptions;
  logger: Logger;
}

/**
 * Turns an artifact reference into a servable model: fetch → verify → load → input
 * compatibility → warm-up inference. Any failure disposes what was loaded and throws a typed
 * error; the model being served is never touched here.
 */
export class ModelLoader {
  constructor(private readonly dependencies: ModelLoaderDependencies) {}

  /** Loads `version`; `previousInputs` (if any) must match unless the version allows a change. */
  async load(model: string, version: string, ref: ArtifactRef, previousInputs?: readonly TensorSpec[]): Promise<{ loaded: LoadedModel; timings: LoadTimings }> {
    const format = resolveArtifactFormat(ref.uri, ref.format);
    const artifact = await this.dependencies.cache.materialize(ref.uri, ref.sha256);
    const loadStarted = performance.now();
    const runtime = await this.dependencies.loadRuntime(format, artifact.path, this.dependencies.runtimeOptions);
    const loadMs = performance.now() - loadStarted;
    try {
      if (previousInputs !== undefined && ref.metadata[ALLOW_INPUT_CHANGE_FLAG] !== true) checkInputCompatibility(previousInputs, runtime.inputs, version);
      const warmupStarted = performance.now();
      await runtime.infer(warmUpInputs(runtime.inputs), runtime.outputs.map((spec) => spec.name)).catch((error: unknown) => {
        throw new InfermeshError('WARMUP_FAILED', `version '${version}' failed its warm-up inference: ${(error as Error).message}`, { cause: error });
      });
      const timings = { fetchMs: artifact.fetchMs, verifyMs: artifact.verifyMs, loadMs, warmupMs: performance.now() - warmupStarted };
      return { loaded: { name: model, version, runtime }, timings };
    } catch (error) {
      await runtime.dispose().catch(() => undefined);
      throw error;
    }
  }
}
