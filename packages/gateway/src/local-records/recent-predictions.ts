/** Prediction ids a gateway on local records remembers having served, by default. */
export const DEFAULT_REMEMBERED_PREDICTIONS = 32_768;

/**
 * The prediction ids this process served most recently, oldest forgotten first, and since when
 * the memory is complete: every id served after `completeSince()` is still remembered. A bound,
 * not a TTL, keeps it at a few megabytes whatever the traffic (an id and a time per entry).
 *
 * A ring of ids and times beside a set, not one insertion-ordered Map: a Map used as a queue
 * (delete the first entry, read the new first) leaves deleted slots that V8 skips on every
 * lookup of the first entry until it rehashes, which cost tens of microseconds per prediction.
 */
export class RecentPredictions {
  private readonly ids: string[] = [];
  private readonly times: Float64Array;
  private readonly known = new Set<string>();
  /** Slot the next id goes to; once the ring is full, the slot of the oldest id. */
  private next = 0;
  private complete: number;

  constructor(
    startedAt: number,
    private readonly capacity = DEFAULT_REMEMBERED_PREDICTIONS,
  ) {
    this.complete = startedAt;
    this.times = new Float64Array(capacity);
  }

  /** Remembers that `predictionId` was served at `at` (milliseconds since the epoch). */
  remember(predictionId: string, at: number): void {
    if (this.known.has(predictionId)) return;
    if (this.ids.length === this.capacity) {
      this.known.delete(this.ids[this.next]!);
      // Ids served up to the one forgotten may be forgotten too; later ones are all still here.
      this.complete = Math.max(this.complete, this.times[this.next]!);
    }
    this.ids[this.next] = predictionId;
    this.times[this.next] = at;
    this.known.add(predictionId);
    this.next = (this.next + 1) % this.capacity;
  }

  /** Whether this process served `predictionId` (as far as the memory reaches). */
  has(predictionId: string): boolean {
    return this.known.has(predictionId);
  }

  /** Milliseconds since the epoch after which every served id is remembered. */
  completeSince(): number {
    return this.complete;
  }
}
