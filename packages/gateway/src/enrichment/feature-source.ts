import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import { REQUEST_ID_HEADER } from '@infermesh/shared';
import { CircuitBreaker, type CircuitPermit, type CircuitState } from './circuit-breaker.js';
import { DEFAULT_BREAKER, DEFAULT_CACHE_MAX_ENTRIES, DEFAULT_MAX_RESPONSE_BYTES, type EnricherConfig } from './enricher-config.js';
import type { EnrichmentFailure, EnrichmentFailureReason } from './enrichment-failure.js';
import type { EnrichmentCallOutcome, EnrichmentMetrics } from './enrichment-metrics.js';
import { fetchJsonObject, type JsonFetchResult } from './fetch-json-object.js';
import { readPath } from './read-path.js';
import { resolveUrl } from './resolve-url.js';

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

/** Feature values read from one response; what the cache holds. */
type Features = Readonly<Record<string, unknown>>;

/** How one source's part of a request went, and the `outcome` label it is measured under. */
interface Attempt {
  result: SourceResult;
  outcome: EnrichmentCallOutcome;
}

/** How a cache lookup went; the `result` label: `merged` joined a call another request started. */
type CacheLookup = 'hit' | 'miss' | 'merged';

/** A shared call's failure; rejecting lru-cache's fetch with it reaches every waiter and caches nothing. */
class SharedCallFailure extends Error {
  constructor(
    readonly failure: EnrichmentFailure,
    readonly outcome: EnrichmentCallOutcome,
  ) {
    super(failure.message);
  }
}

/** What one request asks of a source. */
export interface SourceRequest {
  /** Milliseconds on the `now()` clock after which the caller no longer waits. */
  deadline: number;
  requestId: string;
}

/**
 * One enricher at run time: resolves its URL for an entity, answers from its TTL cache, asks
 * its circuit breaker, fetches within the time left, and records metrics. Never throws for a
 * source failure.
 *
 * With caching on, concurrent misses of one URL share one HTTP call (lru-cache's `fetch`):
 * the call runs with the source's own `timeoutMs` and reports to the breaker once, while each
 * request waits only its own budget, min(timeoutMs, deadline - now()). A request whose
 * deadline comes first gets a `timeout` and the call goes on for the others (and the cache).
 * With `cacheTtlMs: 0` each request makes its own call within its budget.
 */
export class FeatureSource {
  readonly name: string;
  private readonly cache: LRUCache<string, Features, string> | undefined;
  private readonly breaker: CircuitBreaker;

  constructor(
    private readonly config: EnricherConfig,
    private readonly dependencies: FeatureSourceDependencies,
  ) {
    this.name = config.name;
    const { now, metrics, logger } = dependencies;
    this.cache =
      config.cacheTtlMs > 0
        ? new LRUCache<string, Features, string>({
            max: config.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES,
            ttl: config.cacheTtlMs,
            perf: { now },
            // lru-cache otherwise reuses one clock reading for 1 ms of real time, which an
            // injected clock does not follow.
            ttlResolution: 0,
            // More distinct keys than `max` evict an in-flight call; its waiters still get its
            // result (it is just not cached) instead of an 'evicted' abort.
            ignoreFetchAbort: true,
            fetchMethod: (url, _stale, { context }) => this.sharedCall(url, context),
          })
        : undefined;
    const breaker = config.breaker ?? DEFAULT_BREAKER;
    this.breaker = new CircuitBreaker({ ...breaker, now, onStateChange: (state, previous) => this.onBreakerChange(state, previous) });
    // A new source starts closed; this also resets a gauge left at 1 by a replaced config.
    metrics.circuitOpen.set({ source: this.name }, 0);
    logger.debug({ source: this.name, cacheTtlMs: config.cacheTtlMs, maxResponseBytes: this.maxResponseBytes, breaker }, 'feature source configured');
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

  private get maxResponseBytes(): number {
    return this.config.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  private async attempt(entity: Readonly<Record<string, string | number>>, request: SourceRequest): Promise<Attempt> {
    const resolved = resolveUrl(this.config.url, entity);
    if (!resolved.ok) return this.failed('missing_entity_key', `entity has no value for ${resolved.missingKeys.join(', ')}`);
    const budgetMs = Math.min(this.config.timeoutMs, request.deadline - this.dependencies.now());
    if (this.cache !== undefined) return this.fromCache(this.cache, resolved.url, budgetMs, request.requestId);
    // Checked before asking the breaker: a request out of time says nothing about the source.
    if (budgetMs <= 0) return this.failed('timeout', 'request deadline passed before the call');
    return this.call(resolved.url, budgetMs, request.requestId);
  }

  /** A cached value, or the result of the call for this URL (started here or joined), waited for at most budgetMs. */
  private async fromCache(cache: LRUCache<string, Features, string>, url: string, budgetMs: number, requestId: string): Promise<Attempt> {
    if (budgetMs <= 0) {
      // Out of time: a cached value still answers, but starting or joining a call cannot.
      const cached = cache.get(url);
      this.countLookup(cached === undefined ? 'miss' : 'hit');
      return cached === undefined ? this.failed('timeout', 'request deadline passed before the call') : { result: { ok: true, values: cached }, outcome: 'cache_hit' };
    }
    const status: LRUCache.Status<string, Features, string> = {};
    // The request id travels with the call this request starts; requests joining it are not named to the source.
    const shared = cache.fetch(url, { context: requestId, status });
    // fetch() sets status.fetch before it returns: hit, miss, inflight, or stale (an expired entry: a miss).
    const lookup: CacheLookup = status.fetch === 'hit' ? 'hit' : status.fetch === 'inflight' ? 'merged' : 'miss';
    this.countLookup(lookup);
    if (lookup === 'hit') {
      // Already settled: no timer needed.
      const values = await shared;
      if (values !== undefined) return { result: { ok: true, values }, outcome: 'cache_hit' };
    }
    return this.waitFor(shared, budgetMs);
  }

  /** The shared call's result, or a `timeout` once this request's own budget is spent (the call goes on). */
  private async waitFor(shared: Promise<Features | undefined>, budgetMs: number): Promise<Attempt> {
    const waitMs = Math.ceil(budgetMs);
    let timer: NodeJS.Timeout | undefined;
    const outOfTime = new Promise<typeof OUT_OF_TIME>((resolve) => (timer = setTimeout(resolve, waitMs, OUT_OF_TIME)));
    try {
      const values = await Promise.race([shared, outOfTime]);
      if (values === OUT_OF_TIME) return this.failed('timeout', `no response within this request's ${waitMs} ms; the shared call goes on for the others`);
      // Unreachable: sharedCall resolves with a value or rejects, and ignoreFetchAbort keeps an eviction from resolving it empty.
      if (values === undefined) throw new Error('feature cache fetch resolved without a value');
      return { result: { ok: true, values }, outcome: 'ok' };
    } catch (error) {
      if (!(error instanceof SharedCallFailure)) throw error;
      return { result: { ok: false, failure: { ...error.failure } }, outcome: error.outcome };
    } finally {
      clearTimeout(timer);
    }
  }

  /** lru-cache's fetchMethod: one call for every request waiting on url, bounded by the source's own timeout. */
  private async sharedCall(url: string, requestId: string): Promise<Features> {
    const { result, outcome } = await this.call(url, this.config.timeoutMs, requestId);
    if (!result.ok) throw new SharedCallFailure(result.failure, outcome);
    return result.values;
  }

  /** One HTTP call: asks the breaker, fetches within budgetMs, tells the breaker what the answer says about the source. */
  private async call(url: string, budgetMs: number, requestId: string): Promise<Attempt> {
    const permit = this.breaker.tryAcquire();
    if (permit === undefined) {
      return { ...this.failed('circuit_open', 'circuit breaker open after repeated failures; failing fast'), outcome: 'circuit_open' };
    }
    const response = await this.fetchWithin(url, Math.ceil(budgetMs), requestId);
    this.report(permit, response, budgetMs < this.config.timeoutMs);
    if (!response.ok) return this.failed(response.reason, response.message);
    return { result: { ok: true, values: this.extract(response.body) }, outcome: 'ok' };
  }

  private countLookup(result: CacheLookup): void {
    this.dependencies.metrics.cacheLookups.inc({ source: this.name, result });
  }

  private async fetchWithin(url: string, budgetMs: number, requestId: string): Promise<JsonFetchResult> {
    // Our own timer rather than AbortSignal.timeout: it is cleared as soon as the call ends
    // instead of lingering for the whole budget, and, unlike that unref'd timer, it still
    // fires when nothing else (a socket) keeps the event loop alive.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`no response within ${budgetMs} ms`, 'TimeoutError')), budgetMs);
    try {
      return await fetchJsonObject(this.dependencies.fetch, url, {
        signal: controller.signal,
        budgetMs,
        maxBytes: this.maxResponseBytes,
        headers: { [REQUEST_ID_HEADER]: requestId },
      });
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

  private extract(body: Record<string, unknown>): Features {
    const values: Record<string, unknown> = {};
    for (const [feature, spec] of Object.entries(this.config.features)) {
      const value = readPath(body, spec.path ?? feature);
      // null means "no value" in every feature service we know of; the default should apply.
      if (value !== undefined && value !== null) values[feature] = value;
    }
    return Object.freeze(values);
  }

  private failed(reason: EnrichmentFailureReason, message: string): Attempt {
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

/** What a request's own timer resolves with when its budget is spent before the shared call ends. */
const OUT_OF_TIME = Symbol('out of time');

/** HTTP statuses that mean the source itself is unwell, not that it answered "no". */
function isSourceFault(status: number): boolean {
  return status < 400 || status >= 500 || status === 408 || status === 429;
}
