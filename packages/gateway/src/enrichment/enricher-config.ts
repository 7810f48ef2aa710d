/** How to read one feature from a source's JSON response. */
export interface FeatureSpec {
  /** Dotted path in the JSON body, e.g. `stats.avgBasket`; the feature name when absent. */
  path?: string;
  /** Used when the source fails or lacks the feature (null in the response counts as lacking it). */
  default?: unknown;
}

/** When a source's circuit breaker opens and how long it stays open. */
export interface CircuitBreakerConfig {
  /** Consecutive failures that open it. */
  failureThreshold: number;
  /** Milliseconds it stays open before one trial call (half-open). */
  openMs: number;
}

/** One HTTP feature source of a model: where to fetch, how long to wait, what to read. */
export interface EnricherConfig {
  /** Source name, used in logs and metric labels. */
  name: string;
  /** Template whose `{placeholders}` are entity keys, e.g. `http://127.0.0.1:7000/users/{userId}`; values are URL-encoded. */
  url: string;
  timeoutMs: number;
  /** Milliseconds a successful response is reused; 0 disables caching. */
  cacheTtlMs: number;
  /** Most cached responses kept (at most {@link MAX_CACHE_MAX_ENTRIES}); the least recently used go first. Default {@link DEFAULT_CACHE_MAX_ENTRIES}. */
  cacheMaxEntries?: number;
  /** Largest response body read, bytes; a larger one is an `invalid_response` failure. Default {@link DEFAULT_MAX_RESPONSE_BYTES}. */
  maxResponseBytes?: number;
  /** Default {@link DEFAULT_BREAKER}. */
  breaker?: CircuitBreakerConfig;
  features: Record<string, FeatureSpec>;
}

/** Cached responses kept per source when `cacheMaxEntries` is absent, entries. */
export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;
/**
 * Largest `cacheMaxEntries` accepted, entries. lru-cache allocates its index for `max` entries
 * up front (about 43 bytes each, measured), so a typo like 1e9 would exhaust memory at load time.
 */
export const MAX_CACHE_MAX_ENTRIES = 1_000_000;
/** Largest feature-service response body read when `maxResponseBytes` is absent, bytes (1 MiB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** Consecutive failures that open a source's breaker when `breaker` is absent. */
export const DEFAULT_FAILURE_THRESHOLD = 5;
/** Milliseconds a breaker stays open before its trial call when `breaker` is absent. */
export const DEFAULT_OPEN_MS = 10_000;
/** The breaker a source gets when its config names none. */
export const DEFAULT_BREAKER: Readonly<CircuitBreakerConfig> = { failureThreshold: DEFAULT_FAILURE_THRESHOLD, openMs: DEFAULT_OPEN_MS };

/** Source names: safe as Prometheus label values and in log queries. */
export const ENRICHER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const positiveInteger = { type: 'integer', minimum: 1 };

/**
 * JSON Schema (draft-07 object, for ajv) of one EnricherConfig; the gateway embeds it in the
 * model-config schema. It has no `$id` or `$schema`, so it can be embedded more than once.
 */
export const ENRICHER_CONFIG_SCHEMA: object = {
  type: 'object',
  required: ['name', 'url', 'timeoutMs', 'cacheTtlMs', 'features'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: ENRICHER_NAME_PATTERN.source },
    url: { type: 'string', pattern: '^https?://[^/?#]+' },
    timeoutMs: positiveInteger,
    cacheTtlMs: { type: 'integer', minimum: 0 },
    cacheMaxEntries: { ...positiveInteger, maximum: MAX_CACHE_MAX_ENTRIES },
    maxResponseBytes: positiveInteger,
    breaker: {
      type: 'object',
      required: ['failureThreshold', 'openMs'],
      additionalProperties: false,
      properties: { failureThreshold: positiveInteger, openMs: positiveInteger },
    },
    features: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          path: { type: 'string', pattern: '^[^.]+(\\.[^.]+)*$' },
          // A null default would be indistinguishable from "no value"; refuse it at load time.
          default: { not: { type: 'null' } },
        },
      },
    },
  },
};
