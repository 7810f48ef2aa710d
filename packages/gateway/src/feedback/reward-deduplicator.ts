import { InfermeshError } from '@infermesh/shared';
import { LRUCache } from 'lru-cache';

/** Prediction ids remembered at most, entries (~100 bytes each: ~50 MB when full). */
export const DEFAULT_DEDUP_MAX_ENTRIES = 500_000;

/** Options of a {@link RewardDeduplicator}. */
export interface RewardDeduplicatorOptions {
  /** Milliseconds since the epoch, the same clock the token signer uses. */
  now: () => number;
  /**
   * Prediction ids remembered at most; default {@link DEFAULT_DEDUP_MAX_ENTRIES}. Size it above
   * feedback rate × token ttl: beyond it the least recently redeemed id is forgotten early, and a
   * replay of that one would count again here (see {@link RewardDeduplicator.evictions}).
   */
  maxEntries?: number;
}

/**
 * "A second reward for the same prediction counts once", within one gateway process.
 *
 * Each prediction id is remembered until its token expires: after that the signer refuses the
 * token anyway, so forgetting is safe and memory stays bounded by feedback rate × token ttl.
 * The key is the server-generated prediction id, never the client's request id, which
 * clients may reuse. Across replicas the aggregator, which reads every feedback event,
 * deduplicates by prediction id for the mesh; this is the fast path.
 */
export class RewardDeduplicator {
  private readonly seen: LRUCache<string, true>;
  private evicted = 0;

  constructor(private readonly options: RewardDeduplicatorOptions) {
    const maxEntries = options.maxEntries ?? DEFAULT_DEDUP_MAX_ENTRIES;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new InfermeshError('INVALID_CONFIG', `reward deduplicator maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.seen = new LRUCache<string, true>({
      max: maxEntries,
      // Entries expire with their token; lru-cache reads time through this clock.
      perf: { now: options.now },
      // Read the injected clock on every check instead of caching it for a millisecond.
      ttlResolution: 0,
      ttlAutopurge: false,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.evicted += 1;
      },
    });
  }

  /**
   * True the first time predictionId is seen before expiresAt (ms), false for every repeat until
   * then. An already expired expiresAt is not remembered: verification refuses such a token first.
   */
  firstTime(predictionId: string, expiresAt: number): boolean {
    if (this.seen.has(predictionId)) return false;
    const ttl = expiresAt - this.options.now();
    if (ttl <= 0) return true;
    // lru-cache treats an entry as stale once strictly more than ttl has passed; the token dies at expiresAt itself.
    this.seen.set(predictionId, true, { ttl: Math.max(1, ttl - 1) });
    return true;
  }

  /** Prediction ids remembered now (expired ones are dropped as they are looked up or evicted). */
  get size(): number {
    this.seen.purgeStale();
    return this.seen.size;
  }

  /** Prediction ids forgotten before their expiry because maxEntries was reached; a metric worth alerting on. */
  get evictions(): number {
    return this.evicted;
  }
}
