import type { ExperimentConfig, VariantConfig } from '@infermesh/experiments';
import type { Enrichment } from '../enrichment/enrichment.js';
import type { WorkerPool } from '../pools/worker-pool.js';
import type { CallBatcher } from '../batching/call-batcher.js';
import type { ModelConfig } from './model-config.js';
import type { PredictBody } from './predict-request-validator.js';

/** Variant name of a model without an experiment. */
export const DEFAULT_VARIANT = 'default';

/** A variant and the pool of workers serving it. */
export interface ServedVariant {
  name: string;
  config: VariantConfig;
  pool: WorkerPool;
  /** Batches this variant's predictions into shared worker calls; absent when the model turned batching off. */
  batcher?: CallBatcher;
}

/** Everything the gateway needs to serve one model, built once per config (and experiment) version. */
export interface ServedModel {
  name: string;
  config: ModelConfig;
  /** The experiment splitting its traffic, if any. */
  experiment?: ExperimentConfig;
  /** Identity of the texts it was built from: identical texts need no rebuild. */
  source: string;
  validate(body: unknown): PredictBody;
  enrichment: Enrichment;
  /** Live and shadow variants; a model without an experiment has one live `default` variant. */
  variants: ServedVariant[];
}

/** Variants that may answer clients now (enabled, live). */
export function liveVariants(model: ServedModel): ServedVariant[] {
  return model.variants.filter((variant) => variant.config.enabled && variant.config.role === 'live');
}

/** Whether some live variant has a healthy worker. */
export function isModelReady(model: ServedModel): boolean {
  return liveVariants(model).some((variant) => variant.pool.healthyCount() > 0);
}
