import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Feature-source latency buckets, seconds: a cache hit (well under 1 ms) to a 5 s timeout. */
export const ENRICHMENT_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** How one source's part of a request ended; the `outcome` label. */
export type EnrichmentCallOutcome = 'ok' | 'cache_hit' | 'failed' | 'circuit_open';

/**
 * Feature enrichment's Prometheus metrics, registered on an injected registry. Create one per
 * registry and share it between every model's `Enrichment`: prom-client refuses a
 * second metric of the same name on one registry.
 */
export class EnrichmentMetrics {
  readonly duration: Histogram<'source' | 'outcome'>;
  readonly failures: Counter<'source' | 'reason'>;
  readonly cacheLookups: Counter<'source' | 'result'>;
  readonly circuitOpen: Gauge<'source'>;

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: 'infermesh_gateway_enrichment_duration_seconds',
      help: "Time one feature source took for one request, by outcome (ok, cache_hit, failed, circuit_open).",
      labelNames: ['source', 'outcome'],
      buckets: ENRICHMENT_DURATION_BUCKETS,
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'infermesh_gateway_enrichment_failures_total',
      help: 'Requests for which a feature source gave no features (its defaults were used), by source and reason.',
      labelNames: ['source', 'reason'],
      registers: [registry],
    });
    this.cacheLookups = new Counter({
      name: 'infermesh_gateway_enrichment_cache_lookups_total',
      help: 'Feature cache lookups by source and result: hit, miss (this request started a call) or merged (it waited for a call another request had started).',
      labelNames: ['source', 'result'],
      registers: [registry],
    });
    this.circuitOpen = new Gauge({
      name: 'infermesh_gateway_enrichment_circuit_open',
      help: "1 while a feature source's circuit breaker is open or half-open (calls fail fast), 0 while closed.",
      labelNames: ['source'],
      registers: [registry],
    });
  }
}
