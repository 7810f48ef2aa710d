import type { Logger } from 'pino';
import { CircuitBreaker, type CircuitPermit, type CircuitState } from './circuit-breaker.js';
import { DEFAULT_BREAKER, DEFAULT_CACHE_MAX_ENTRIES, type EnricherConfig } from './enricher-config.js';
import type { EnrichmentFailure, EnrichmentFailureReason } from './enrichment-failure.js';
import type { EnrichmentCallOutcome, EnrichmentMetrics } from './enrichment-metrics.js';
import { fetchJsonObject, type JsonFetchResult } from './fetch-json-object.js';
import { readPath } from './read-path.js';
import { resolveUrl } from './resolve-url.js';
import { TtlCache } from './ttl-cache.js';

/** Header carrying the gateway's request id to the feature service, so both logs line up. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What a {@link FeatureSource} needs; the clock and transport are injected. */
export interface FeatureSourceDependencies {
  fetch: typeof fetch;
  /** Milliseconds. */
  now: () => number;
  metrics: EnrichmentMetrics;
  logger: Logger;
}

/** Feature values a source gave for one entity (absent and null ones left out), or why it gave none. */
export type SourceResult = { ok: true; values: Readonly<Record<string, unknown>> } | { ok: false; failure: EnrichmentFailure };

/** What one request asks of a source. */
export interface SourceRequest {
  /** Milliseconds on the `now()` clock after which the caller no longer waits. */
  deadline: number;
  requestId: string;
}

/**
 * One enricher at run time: resolves its URL for an entity, answers from its TTL cache, asks
 * its circuit breaker, fetches within the time left, and records metrics. Never throws.
 */
export class FeatureSource {
  readonly name: string;
  private readonly cache: TtlCache<Readonly<Record<string, unknown>>> | undefined;
  private readonly breaker: CircuitBreaker;

  constructor(
    private readonly config: EnricherConfig,
    private readonly dependencies: FeatureSourceDependencies,
  ) {
    this.name = config.name;
    const { now, metrics, logger } = dependencies;
    this.cache =
      config.cacheTtlMs > 0 ? new TtlCache({ ttlMs: config.cacheTtlMs, maxEntries: config.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES, now }) : undefined;
    const breaker = config.breaker ?? DEFAULT_BREAKER;
    this.breaker = new CircuitBreaker({ ...breaker, now, onStateChange: (state, previous) => this.onBreakerChange(state, previous) });
    // A new source starts closed; this also resets a gauge left at 1 by a replaced config.
    metrics.circuitOpen.set({ source: this.name }, 0);
    logger.debug({ source: this.name, cacheTtlMs: config.cacheTtlMs, breaker }, 'feature source configured');
  }

  /** This source's features for one entity, within min(timeoutMs, deadline - now()). */
  async load(entity: Readonly<Record<string, string | number>>, request: SourceRequest): Promise<SourceResult> {
    const { now, metrics } = this.dependencies;
    const started = now();
    const { result, outcome } = await this.attempt(entity, request);
    metrics.duration.observe({ source: this.name, outcome }, Math.max(0, now() - started) / 1000);
    if (!result.ok) metrics.failures.inc({ source: this.name, reason: result.failure.reason });
    return result;
  }

  private async attempt(entity: Readonly<Record<string, string | number>>, request: SourceRequest): Promise<{ result: SourceResult; outcome: EnrichmentCallOutcome }> {
    const { now, metrics } = this.dependencies;
    const resolved = resolveUrl(this.config.url, entity);
    if (!resolved.ok) return this.failed('missing_entity_key', `entity has no value for ${resolved.missingKeys.join(', ')}`);
    const url = resolved.url;

    if (this.cache !== undefined) {
      const cached = this.cache.get(url);
      metrics.cacheLookups.inc({ source: this.name, result: cached === undefined ? 'miss' : 'hit' });
      if (cached !== undefined) return { result: { ok: true, values: cached }, outcome: 'cache_hit' };
    }

    const budgetMs = Math.min(this.config.timeoutMs, request.deadline - now());
    // Checked before asking the breaker: a request out of time says nothing about the source.
    if (budgetMs <= 0) return this.failed('timeout', 'request deadline passed before the call');

    const permit = this.breaker.tryAcquire();
    if (permit === undefined) {
      return { ...this.failed('circuit_open', 'circuit breaker open after repeated failures; failing fast'), outcome: 'circuit_open' };
    }

    const response = await this.fetchWithin(url, Math.ceil(budgetMs), request.requestId);
    this.report(permit, response, budgetMs < this.config.timeoutMs);
    if (!response.ok) return this.failed(response.reason, response.message);

    const values = this.extract(response.body);
    this.cache?.set(url, values);
    return { result: { ok: true, values }, outcome: 'ok' };
  }

  private async fetchWithin(url: string, budgetMs: number, requestId: string): Promise<JsonFetchResult> {
    // Our own timer rather than AbortSignal.timeout: it is cleared as soon as the call ends
    // instead of lingering for the whole budget, and, unlike that unref'd timer, it still
    // fires when nothing else (a socket) keeps the event loop alive.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`no response within ${budgetMs} ms`, 'TimeoutError')), budgetMs);
    try {
      return await fetchJsonObject(this.dependencies.fetch, url, { signal: controller.signal, budgetMs, headers: { [REQUEST_ID_HEADER]: requestId } });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Tells the breaker what a response says about the source's health. */
  private report(permit: CircuitPermit, response: JsonFetchResult, cutShortByDeadline: boolean): void {
    if (response.ok) return this.breaker.recordSuccess(permit);
    switch (response.reason) {
      case 'timeout':
        // Only the source's own timeout blames it; a caller's tight deadline proves nothing.
        return cutShortByDeadline ? this.breaker.release(permit) : this.breaker.recordFailure(permit);
      case 'http_status':
        // A 404 for an unknown entity comes from a healthy source; 5xx, 408 and 429 do not.
        return isSourceFault(response.status ?? 0) ? this.breaker.recordFailure(permit) : this.breaker.recordSuccess(permit);
      case 'network':
      case 'invalid_response':
        return this.breaker.recordFailure(permit);
    }
  }

  private extract(body: Record<string, unknown>): Readonly<Record<string, unknown>> {
    const values: Record<string, unknown> = {};
    for (const [feature, spec] of Object.entries(this.config.features)) {
      const value = readPath(body, spec.path ?? feature);
      // null means "no value" in every feature service we know of; the default should apply.
      if (value !== undefined && value !== null) values[feature] = value;
    }
    return Object.freeze(values);
  }

  private failed(reason: EnrichmentFailureReason, message: string): { result: SourceResult; outcome: EnrichmentCallOutcome } {
    return { result: { ok: false, failure: { source: this.name, reason, message } }, outcome: 'failed' };
  }

  private onBreakerChange(state: CircuitState, previous: CircuitState): void {
    const { metrics, logger } = this.dependencies;
    metrics.circuitOpen.set({ source: this.name }, state === 'closed' ? 0 : 1);
    const breaker = this.config.breaker ?? DEFAULT_BREAKER;
    if (state === 'open') logger.warn({ source: this.name, previous, ...breaker }, 'feature source circuit opened; failing fast until the trial call');
    else if (state === 'closed') logger.info({ source: this.name, previous }, 'feature source circuit closed; source recovered');
    else logger.debug({ source: this.name }, 'feature source circuit half-open; making one trial call');
  }
}

/** HTTP statuses that mean the source itself is unwell, not that it answered "no". */
function isSourceFault(status: number): boolean {
  return status < 400 || status >= 500 || status === 408 || status === 429;
}
