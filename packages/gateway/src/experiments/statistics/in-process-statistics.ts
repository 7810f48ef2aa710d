import type { StatisticsSource } from './statistics-source.js';
import { EMPTY_STATS_BY_NAME, statsOf, withReward, withTrial, withVariant, type VariantStatsByName } from './variant-stats.js';

/** Options of an {@link InProcessStatistics}. */
export interface InProcessStatisticsOptions {
  /** Milliseconds since the epoch; stamps updatedAt. */
  now: () => number;
}

/**
 * Statistics counted in this process alone: right for a single gateway and the embedded
 * mesh. With several replicas and no aggregator each one learns only from its own traffic
 * (and from the rewards that happen to reach it), which still converges, only slower.
 */
export class InProcessStatistics implements StatisticsSource {
  private readonly models = new Map<string, VariantStatsByName>();

  constructor(private readonly options: InProcessStatisticsOptions) {}

  /** @inheritdoc */
  snapshot(model: string): VariantStatsByName {
    return this.models.get(model) ?? EMPTY_STATS_BY_NAME;
  }

  /** @inheritdoc */
  recordTrial(model: string, variant: string): void {
    const record = this.snapshot(model);
    this.models.set(model, withVariant(record, variant, withTrial(statsOf(record, variant), this.options.now())));
  }

  /** @inheritdoc */
  recordReward(model: string, variant: string, reward: number): void {
    const record = this.snapshot(model);
    this.models.set(model, withVariant(record, variant, withReward(statsOf(record, variant), reward, this.options.now())));
  }
}
