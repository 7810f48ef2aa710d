/** Feature enrichment: fetching a model's extra features from HTTP feature services per request. */
export {
  DEFAULT_BREAKER,
  DEFAULT_CACHE_MAX_ENTRIES,
  DEFAULT_FAILURE_THRESHOLD,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_OPEN_MS,
  ENRICHER_CONFIG_SCHEMA,
  ENRICHER_NAME_PATTERN,
  MAX_CACHE_MAX_ENTRIES,
  type CircuitBreakerConfig,
  type EnricherConfig,
  type FeatureSpec,
} from './enricher-config.js';
export { ENRICHMENT_FAILURE_REASONS, type EnrichmentFailure, type EnrichmentFailureReason } from './enrichment-failure.js';
export { EnrichmentMetrics, ENRICHMENT_DURATION_BUCKETS, type EnrichmentCallOutcome } from './enrichment-metrics.js';
export { Enrichment, type EnrichmentDependencies, type EnrichmentOutcome, type EnrichOptions } from './enrichment.js';
