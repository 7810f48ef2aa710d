import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Inference latency buckets, seconds: 100 µs (a small ONNX model) to 2.5 s. */
export const INFERENCE_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Rows or requests carried by one runtime call, buckets (powers of two up to four default batches). */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/** Time a call queued for its batch, buckets in seconds: 0 (ran at once) to 25 ms. */
export const BATCH_QUEUE_DELAY_BUCKETS = [0, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025];

/** The worker's Prometheus metrics, registered on an injected registry. */
export class WorkerMetrics {
  readonly inferenceDuration: Histogram<'model' | 'version'>;
  readonly requests: Counter<'method' | 'code'>;
  readonly inflight: Gauge;
  readonly modelInfo: Gauge<'model' | 'version' | 'platform'>;
  readonly reloads: Counter;
  readonly reloadFailures: Counter<'reason'>;
  readonly reloadStageDuration: Histogram<'stage'>;
  readonly registryErrors: Counter;
  readonly batchRows: Histogram<'model'>;
  readonly batchRequests: Histogram<'model'>;
  readonly batchQueueDelay: Histogram<'model'>;
  readonly batchFallbacks: Counter<'model' | 'reason'>;

  constructor(registry: Registry) {
    this.inferenceDuration = new Histogram({
      name: 'infermesh_worker_inference_duration_seconds',
      help: 'Time from a validated ModelInfer request to its encoded response: waiting for a batch, the model call and encoding.',
      labelNames: ['model', 'version'],
      buckets: INFERENCE_DURATION_BUCKETS,
      registers: [registry],
    });
    this.requests = new Counter({
      name: 'infermesh_worker_grpc_requests_total',
      help: 'gRPC calls answered by the inference service, by method and status code.',
      labelNames: ['method', 'code'],
      registers: [registry],
    });
    this.inflight = new Gauge({
      name: 'infermesh_worker_inflight_requests',
      help: 'ModelInfer calls being computed now.',
      registers: [registry],
    });
    this.modelInfo = new Gauge({
      name: 'infermesh_worker_model_info',
      help: 'The model version this worker serves (value 1).',
      labelNames: ['model', 'version', 'platform'],
      registers: [registry],
    });
    this.reloads = new Counter({
      name: 'infermesh_worker_reloads_total',
      help: 'New model versions swapped in while serving.',
      registers: [registry],
    });
    this.reloadFailures = new Counter({
      name: 'infermesh_worker_reload_failures_total',
      help: 'New versions rejected (the serving version kept), by error code.',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.reloadStageDuration = new Histogram({
      name: 'infermesh_worker_reload_stage_duration_seconds',
      help: 'Time each stage of loading a new version took: fetch, verify, load, warmup.',
      labelNames: ['stage'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 120],
      registers: [registry],
    });
    this.registryErrors = new Counter({
      name: 'infermesh_worker_registry_errors_total',
      help: 'Failed registry (Consul KV or file) queries; the worker keeps serving and retries.',
      registers: [registry],
    });
    this.batchRows = new Histogram({
      name: 'infermesh_worker_batch_rows',
      help: 'Input rows carried by one runtime call (the rows of every ModelInfer call it batched).',
      labelNames: ['model'],
      buckets: BATCH_SIZE_BUCKETS,
      registers: [registry],
    });
    this.batchRequests = new Histogram({
      name: 'infermesh_worker_batch_requests',
      help: 'ModelInfer calls carried by one runtime call (1 when the call ran alone).',
      labelNames: ['model'],
      buckets: BATCH_SIZE_BUCKETS,
      registers: [registry],
    });
    this.batchQueueDelay = new Histogram({
      name: 'infermesh_worker_batch_queue_delay_seconds',
      help: 'Time a ModelInfer call waited in the batch queue before its runtime call started (0 when it ran at once).',
      labelNames: ['model'],
      buckets: BATCH_QUEUE_DELAY_BUCKETS,
      registers: [registry],
    });
    this.batchFallbacks = new Counter({
      name: 'infermesh_worker_batch_fallbacks_total',
      help: 'Batches whose calls were run again one at a time, by reason: the batch failed, or its outputs were not one row per input row.',
      labelNames: ['model', 'reason'],
      registers: [registry],
    });
  }

  /** Marks `model` as the one version served (value 1), replacing the previous label set. */
  setServing(model: { name: string; version: string; runtime: { platform: string } }): void {
    this.modelInfo.reset();
    this.modelInfo.set({ model: model.name, version: model.version, platform: model.runtime.platform }, 1);
  }
}
