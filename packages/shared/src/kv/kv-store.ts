/** One key and its value as the store holds it. */
export interface KvEntry {
  key: string;
  value: string;
  /** Changes whenever the value changes; compare-and-set takes it back. */
  index: number;
}

/** What a blocking read returns: the entry (absent if deleted or never written) and the index to wait from next. */
export interface KvChange {
  entry: KvEntry | undefined;
  index: number;
}

/** What a blocking read of a prefix returns: every entry under it and the index to wait from next. */
export interface KvPrefixChange {
  entries: KvEntry[];
  index: number;
}

/** Options of a blocking read. */
export interface WaitOptions {
  /** Longest time to wait for a change, milliseconds; returns unchanged after it. */
  waitMs: number;
  signal?: AbortSignal;
}

/**
 * The key-value store behind the model registry: Consul KV in production, a directory of
 * files as the embedded default. Keys are relative to the store's prefix.
 */
export interface KvStore {
  /** Human-readable location, for logs and CLI output. */
  readonly description: string;
  get(key: string): Promise<KvEntry | undefined>;
  /** Every entry whose key starts with `prefix`. */
  list(prefix: string): Promise<KvEntry[]>;
  /** The keys under `prefix`, sorted, without their values (cheap to list where values are large). */
  keys(prefix: string): Promise<string[]>;
  /** Writes only if the key's index is still `index` (0: only if the key does not exist). */
  compareAndSet(key: string, value: string, index: number): Promise<boolean>;
  /**
   * Deletes the key unless it changed since `index`: false when it holds a newer value. A key
   * already gone counts as deleted (Consul cannot tell it apart), so two racing deletes may both succeed.
   */
  compareAndDelete(key: string, index: number): Promise<boolean>;
  /** Resolves when the key's index differs from `index`, or after `waitMs` with the same index. */
  waitForChange(key: string, index: number, options: WaitOptions): Promise<KvChange>;
  /** Like waitForChange, for any key under `prefix`; returns every entry under it. */
  waitForPrefixChange(prefix: string, index: number, options: WaitOptions): Promise<KvPrefixChange>;
}
