import type { StatisticsSource } from './statistics-source.js';
import {
  addVariantStats,
  EMPTY_STATS_BY_NAME,
  freezeStatsByName,
  statsOf,
  withReward,
  withTrial,
  withVariant,
  type VariantStats,
  type VariantStatsByName,
} from './variant-stats.js';

/** Options of a {@link SnapshotStatistics}. */
export interface SnapshotStatisticsOptions {
  /** Milliseconds since the epoch; stamps updatedAt of local deltas. */
  now: () => number;
}

/**
 * Statistics published by the aggregator (`stats/{model}`, through a Consul watch that calls
 * {@link SnapshotStatistics.update}), plus what this replica observed since the last publication.
 *
 * The aggregator publishes every few seconds at best; a new variant would get no evidence in
 * between if this replica ignored its own traffic. So trials and rewards recorded here
 * accumulate as local deltas, and `snapshot()` is published + local deltas. The next
 * publication replaces both: the aggregator counts this replica's events from Kafka itself,
 * so keeping the deltas would count them twice. Events still in flight to the aggregator
 * drop out of the view for a moment and return with a later publication: the view may lag
 * by one publication, but never counts an event twice once the next one arrives.
 * Before the first publication of a model, its view is the local deltas alone.
 */
export class SnapshotStatistics implements StatisticsSource {
  private readonly published = new Map<string, VariantStatsByName>();
  private readonly deltas = new Map<string, VariantStatsByName>();
  // published + deltas, rebuilt on each write so the read on the hot path is one lookup.
  private readonly views = new Map<string, VariantStatsByName>();

  constructor(private readonly options: SnapshotStatisticsOptions) {}

  /** Replaces model's published statistics and drops the local deltas that publication supersedes. */
  update(model: string, variants: Readonly<Record<string, Readonly<VariantStats>>>): void {
    const published = freezeStatsByName(Object.entries(variants));
    this.published.set(model, published);
    this.deltas.delete(model);
    this.views.set(model, published);
  }

  /** @inheritdoc */
  snapshot(model: string): VariantStatsByName {
    return this.views.get(model) ?? EMPTY_STATS_BY_NAME;
  }

  /** @inheritdoc */
  recordTrial(model: string, variant: string): void {
    const local = this.deltas.get(model) ?? EMPTY_STATS_BY_NAME;
    this.setDeltas(model, withVariant(local, variant, withTrial(statsOf(local, variant), this.options.now())));
  }

  /** @inheritdoc */
  recordReward(model: string, variant: string, reward: number): void {
    const local = this.deltas.get(model) ?? EMPTY_STATS_BY_NAME;
    this.setDeltas(model, withVariant(local, variant, withReward(statsOf(local, variant), reward, this.options.now())));
  }

  private setDeltas(model: string, local: VariantStatsByName): void {
    this.deltas.set(model, local);
    const base = this.published.get(model) ?? EMPTY_STATS_BY_NAME;
    const variants = new Set([...Object.keys(base), ...Object.keys(local)]);
    this.views.set(model, freezeStatsByName([...variants].map((variant) => [variant, addVariantStats(statsOf(base, variant), statsOf(local, variant))] as const)));
  }
}
