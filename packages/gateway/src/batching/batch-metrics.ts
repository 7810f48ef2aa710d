import { Counter, Histogram, type Registry } from 'prom-client';

/** Requests per worker call, buckets. */
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/** Milliseconds a request waited for its batch, buckets (seconds). */
const QUEUE_DELAY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025];

/** How the gateway batches predictions into worker calls. */
export class BatchMetrics {
  readonly requestsPerCall: Histogram<'model'>;
  readonly queueDelay: Histogram<'model'>;
  readonly fallbacks: Counter<'model' | 'reason'>;

  constructor(registry: Registry) {
    this.requestsPerCall = new Histogram({
      name: 'infermesh_gateway_batch_requests',
      help: 'Predictions carried by one gateway-to-worker ModelInfer call (1 when nothing was waiting).',
      labelNames: ['model'],
      buckets: BATCH_SIZE_BUCKETS,
      registers: [registry],
    });
    this.queueDelay = new Histogram({
      name: 'infermesh_gateway_batch_queue_delay_seconds',
      help: 'Time a prediction waited for a worker call to carry it (0 when it was sent at once).',
      labelNames: ['model'],
      buckets: QUEUE_DELAY_BUCKETS,
      registers: [registry],
    });
    this.fallbacks = new Counter({
      name: 'infermesh_gateway_batch_fallbacks_total',
      help: 'Batched calls re-sent one prediction per call, by reason (the worker refused the batch, or its outputs could not be split per row).',
      labelNames: ['model', 'reason'],
      registers: [registry],
    });
  }
}
