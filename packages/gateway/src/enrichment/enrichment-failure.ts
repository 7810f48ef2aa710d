/** Why a source gave no features for one request; a metric label value, so never rename one. */
export const ENRICHMENT_FAILURE_REASONS = ['timeout', 'http_status', 'network', 'invalid_response', 'circuit_open', 'missing_entity_key'] as const;

/** Why a source gave no features for one request. */
export type EnrichmentFailureReason = (typeof ENRICHMENT_FAILURE_REASONS)[number];

/** One source that failed for one request; its features got their defaults. */
export interface EnrichmentFailure {
  source: string;
  reason: EnrichmentFailureReason;
  /** For humans: what exactly went wrong (status, error code, elapsed budget). */
  message: string;
}
