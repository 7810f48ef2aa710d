/** Prediction ids a gateway on local records remembers having served, by default. */
export const DEFAULT_REMEMBERED_PREDICTIONS = 32_768;

/**
 * The prediction ids this process served most recently, oldest forgotten first, and since when
 * the memory is complete: every id served after `completeSince()` is still remembered. A bound,
 * not a TTL, keeps it at a few megabytes whatever the traffic (an id and a time per entry).
 */
export class RecentPredictions {
  /** Insertion-ordered: the first entry is the oldest. */
  private readonly servedAt = new Map<string, number>();
  private complete: number;

  constructor(
    startedAt: number,
    private readonly capacity = DEFAULT_REMEMBERED_PREDICTIONS,
  ) {
    this.complete = startedAt;
  }

  /** Remembers that `predictionId` was served at `at` (milliseconds since the epoch). */
  remember(predictionId: string, at: number): void {
    this.servedAt.set(predictionId, at);
    if (this.servedAt.size <= this.capacity) return;
    const oldest = this.servedAt.entries().next().value!;
    this.servedAt.delete(oldest[0]);
    // Ids served up to the one forgotten may be forgotten too; later ones are all still here.
    this.complete = Math.max(this.complete, oldest[1]);
  }

  /** Whether this process served `predictionId` (as far as the memory reaches). */
  has(predictionId: string): boolean {
    return this.servedAt.has(predictionId);
  }

  /** Milliseconds since the epoch after which every served id is remembered. */
  completeSince(): number {
    return this.complete;
  }
}
