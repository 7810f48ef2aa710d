import { parseExperimentConfig } from '@infermesh/experiments';
import { CallBatcher, DEFAULT_MAX_BATCH_DELAY_MS, DEFAULT_MAX_BATCH_ROWS } from '../batching/call-batcher.js';
import type { BatchMetrics } from '../batching/batch-metrics.js';
import type { Enrichment } from '../enrichment/enrichment.js';
import type { WorkerPool } from '../pools/worker-pool.js';
import type { ModelSources } from './model-catalog.js';
import { parseModelConfig, type ModelConfig } from './model-config.js';
import { compilePredictValidator } from './predict-request-validator.js';
import { DEFAULT_VARIANT, type ServedModel, type ServedVariant } from './served-model.js';
import type { SharedPools } from './shared-pools.js';

/** What building served models needs. */
export interface ServedModelFactoryDependencies {
  pools: SharedPools;
  createEnrichment(config: ModelConfig): Enrichment;
  batchMetrics: BatchMetrics;
  /** Monotonic milliseconds. */
  elapsed: () => number;
}

/** Builds served models from their config texts and releases what retired ones hold. */
export interface ServedModelFactory {
  /** Parses, validates and assembles a model; throws INVALID_CONFIG and then holds nothing. */
  build(name: string, sources: ModelSources): ServedModel;
  /** Releases the pools a model no longer served holds. */
  retire(model: ServedModel): void;
}

/** The factory of served models: config and experiment parsed, validator compiled once, one shared pool per variant. */
export function createServedModelFactory(dependencies: ServedModelFactoryDependencies): ServedModelFactory {
  const { pools } = dependencies;
  return {
    build(name, sources) {
      const config = parseModelConfig(name, sources.config);
      const experiment = sources.experiment === undefined ? undefined : parseExperimentConfig(name, sources.experiment);
      const validate = compilePredictValidator(name, config);
      const workerModel = config.workerModel ?? name;
      const variantConfigs = experiment?.variants ?? [{ name: DEFAULT_VARIANT, pool: config.pool, enabled: true, role: 'live' as const }];
      const acquired: WorkerPool[] = [];
      try {
        const variants: ServedVariant[] = variantConfigs.map((variant) => {
          const pool = pools.acquire(workerModel, variant.pool);
          acquired.push(pool);
          const batching = config.batching ?? {};
          if (batching.enabled === false) return { name: variant.name, config: variant, pool };
          const batcher = new CallBatcher({
            workerModel,
            model: name,
            maxBatchRows: batching.maxRows ?? DEFAULT_MAX_BATCH_ROWS,
            maxDelayMs: batching.maxDelayMs ?? DEFAULT_MAX_BATCH_DELAY_MS,
            slots: () => pool.healthyCount(),
            call: (request, options) => pool.infer(request, options),
            metrics: dependencies.batchMetrics,
            elapsed: dependencies.elapsed,
          });
          return { name: variant.name, config: variant, pool, batcher };
        });
        return {
          name,
          config,
          ...(experiment ? { experiment } : {}),
          source: JSON.stringify(sources),
          validate,
          enrichment: dependencies.createEnrichment(config),
          variants,
        };
      } catch (error) {
        // A variant rejected part-way must not keep the pools of the variants before it.
        for (const pool of acquired) pools.release(pool);
        throw error;
      }
    },
    retire(model) {
      for (const variant of model.variants) pools.release(variant.pool);
    },
  };
}
