import type { Enrichment } from '../enrichment/enrichment.js';
import type { WorkerPool } from '../pools/worker-pool.js';
import type { ModelConfig } from './model-config.js';
import type { PredictBody } from './predict-request-validator.js';

/** Everything the gateway needs to serve one model, built once per config version. */
export interface ServedModel {
  name: string;
  config: ModelConfig;
  /** The config text it was built from: an identical text needs no rebuild. */
  source: string;
  validate(body: unknown): PredictBody;
  enrichment: Enrichment;
  pool: WorkerPool;
}
