/** Options of a {@link TtlCache}. */
export interface TtlCacheOptions {
  /** Milliseconds an entry is served after it was set; must be positive. */
  ttlMs: number;
  /** Most entries kept; setting one more evicts the least recently used. */
  maxEntries: number;
  /** Milliseconds on any monotonic-enough clock; injected so tests control expiry. */
  now: () => number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}

/** A bounded map whose entries expire; eviction is least-recently-used. */
export class TtlCache<V> {
  // A Map iterates in insertion order; re-inserting on every hit keeps the least recently
  // used entry first, so eviction is O(1) without a separate list.
  private readonly entries = new Map<string, Entry<V>>();

  constructor(private readonly options: TtlCacheOptions) {}

  /** The live value under key, or undefined when absent or expired (an expired entry is dropped). */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (this.options.now() >= entry.expiresAt) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores value under key for ttlMs from now, evicting the least recently used beyond maxEntries. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.options.now() + this.options.ttlMs });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  /** Entries held, expired ones not yet looked up included. */
  get size(): number {
    return this.entries.size;
  }
}
