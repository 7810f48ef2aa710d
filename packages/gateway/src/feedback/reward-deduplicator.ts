import { InfermeshError } from '@infermesh/shared';

/** Request ids remembered at most, entries (~100 bytes each: ~50 MB when full). */
export const DEFAULT_DEDUP_MAX_ENTRIES = 500_000;

/** Options of a {@link RewardDeduplicator}. */
export interface RewardDeduplicatorOptions {
  /** Milliseconds since the epoch, the same clock the token signer uses. */
  now: () => number;
  /**
   * Request ids remembered at most; default {@link DEFAULT_DEDUP_MAX_ENTRIES}. Size it above
   * feedback rate × token ttl: beyond it the id closest to expiry is forgotten early, and a
   * replay of that one would count again (see {@link RewardDeduplicator.evictions}).
   */
  maxEntries?: number;
}

interface Expiry {
  requestId: string;
  expiresAt: number;
}

/**
 * "A second reward for the same request counts once", within one gateway process.
 *
 * Each request id is remembered until its token expires: after that the signer refuses the
 * token anyway, so forgetting is safe and memory stays bounded by feedback rate × token ttl.
 * Across replicas the same token may be redeemed once per gateway; the aggregator, which
 * reads every `feedback.received` event from Kafka, dedupes by request id for the mesh.
 */
export class RewardDeduplicator {
  private readonly expiries = new Map<string, number>();
  // Min-heap on expiresAt: feedback arrives in any order, so insertion order is not expiry order.
  private readonly heap: Expiry[] = [];
  private readonly maxEntries: number;
  private evicted = 0;

  constructor(private readonly options: RewardDeduplicatorOptions) {
    this.maxEntries = options.maxEntries ?? DEFAULT_DEDUP_MAX_ENTRIES;
    if (!Number.isSafeInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new InfermeshError('INVALID_CONFIG', `reward deduplicator maxEntries must be a positive integer, got ${this.maxEntries}`);
    }
  }

  /**
   * True the first time requestId is seen before expiresAt (ms), false for every repeat until
   * then. An already expired expiresAt is not remembered: verification refuses such a token first.
   */
  firstTime(requestId: string, expiresAt: number): boolean {
    const now = this.options.now();
    this.forgetExpired(now);
    if (this.expiries.has(requestId)) return false;
    if (expiresAt <= now) return true;
    while (this.expiries.size >= this.maxEntries) {
      this.expiries.delete(this.pop().requestId);
      this.evicted += 1;
    }
    this.expiries.set(requestId, expiresAt);
    this.push({ requestId, expiresAt });
    return true;
  }

  /** Request ids remembered now. */
  get size(): number {
    return this.expiries.size;
  }

  /** Request ids forgotten before their expiry because maxEntries was reached; a metric worth alerting on. */
  get evictions(): number {
    return this.evicted;
  }

  private forgetExpired(now: number): void {
    while (this.heap.length > 0 && this.heap[0]!.expiresAt <= now) this.expiries.delete(this.pop().requestId);
  }

  private push(entry: Expiry): void {
    const heap = this.heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent]!.expiresAt <= entry.expiresAt) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = entry;
  }

  private pop(): Expiry {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.expiresAt < heap[left]!.expiresAt ? right : left;
      if (heap[child]!.expiresAt >= last.expiresAt) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = last;
    return top;
  }
}
