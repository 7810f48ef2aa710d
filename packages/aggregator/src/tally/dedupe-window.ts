/** Sweeps of expired ids per window length: memory of expired ids lingers at most a tenth of the window. */
const SWEEPS_PER_WINDOW = 10;

/** Options of a {@link DedupeWindow}. */
export interface DedupeWindowOptions {
  /** Event time remembered, milliseconds: an id older than the newest time seen minus this is forgotten. */
  windowMs: number;
  /** Most ids held; beyond it the first remembered is evicted even while inside the window. */
  maxIds: number;
  /** Told of each id evicted while still inside the window: a copy of it would now be counted again. */
  onEvicted?: () => void;
}

/**
 * The prediction ids one partition has counted, over a window of event time (Kafka message
 * timestamps, which are the events' CloudEvents times). Time is the partition's own: "now" is
 * the newest timestamp seen, so the window does not depend on when or how fast the partition is
 * read, and re-reading the same stretch of the log rebuilds the same memory. Pure: no clock.
 */
export class DedupeWindow {
  private readonly ids = new Map<string, number>();
  private newestMs: number | undefined;
  private sweptAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: DedupeWindowOptions,
    newestMs?: number,
  ) {
    this.newestMs = newestMs;
  }

  /** Newest event time seen, epoch milliseconds; undefined before any. */
  get newest(): number | undefined {
    return this.newestMs;
  }

  /** Ids held (expired ones not yet swept included). */
  get size(): number {
    return this.ids.size;
  }

  /** Earliest event time still remembered: `newest − window`. */
  horizon(): number {
    return this.newestMs === undefined ? Number.NEGATIVE_INFINITY : this.newestMs - this.options.windowMs;
  }

  /** Moves the partition's clock to `atMs` if it is newer. */
  advance(atMs: number): void {
    if (this.newestMs !== undefined && atMs <= this.newestMs) return;
    this.newestMs = atMs;
    if (atMs - this.sweptAtMs >= this.options.windowMs / SWEEPS_PER_WINDOW) this.sweep();
  }

  /** True when `id` was remembered at a time inside the window. */
  has(id: string): boolean {
    const at = this.ids.get(id);
    return at !== undefined && at >= this.horizon();
  }

  /** Remembers `id` seen at `atMs` (unless that is already outside the window). */
  remember(id: string, atMs: number): void {
    this.advance(atMs);
    if (atMs < this.horizon()) return;
    const held = this.ids.get(id);
    if (held !== undefined && held >= this.horizon()) return;
    // An expired entry is replaced at the end, so eviction order stays the order of remembering.
    this.ids.delete(id);
    this.ids.set(id, atMs);
    this.trim();
  }

  private trim(): void {
    const horizon = this.horizon();
    for (const [id, at] of this.ids) {
      if (this.ids.size <= this.options.maxIds && at >= horizon) break;
      this.ids.delete(id);
      if (at >= horizon) this.options.onEvicted?.();
    }
  }

  /** Drops every expired id: timestamps are not monotonic in a partition, so some sit behind newer ones. */
  private sweep(): void {
    this.sweptAtMs = this.newestMs ?? this.sweptAtMs;
    const horizon = this.horizon();
    for (const [id, at] of this.ids) if (at < horizon) this.ids.delete(id);
  }
}
