import { Counter, Histogram, type Registry } from 'prom-client';

/** Differences between live and shadow outputs, buckets. */
const DIFF_BUCKETS = [0, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1];

/** Shadow metrics: what was copied, how it compared. */
export class ShadowMetrics {
  readonly requests: Counter<'model' | 'variant' | 'outcome'>;
  readonly maxAbsDiff: Histogram<'model' | 'variant'>;
  readonly argmaxRows: Counter<'model' | 'variant' | 'agreement'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'infermesh_gateway_shadow_requests_total',
      help: 'Copies of live requests to shadow variants, by outcome (compared, failed, skipped_concurrency).',
      labelNames: ['model', 'variant', 'outcome'],
      registers: [registry],
    });
    this.maxAbsDiff = new Histogram({
      name: 'infermesh_gateway_shadow_max_abs_diff',
      help: 'Largest absolute difference between a shadow answer and the live one.',
      labelNames: ['model', 'variant'],
      buckets: DIFF_BUCKETS,
      registers: [registry],
    });
    this.argmaxRows = new Counter({
      name: 'infermesh_gateway_shadow_argmax_rows_total',
      help: 'Output rows compared between shadow and live, by whether their argmax (top-1) agreed.',
      labelNames: ['model', 'variant', 'agreement'],
      registers: [registry],
    });
  }
}
