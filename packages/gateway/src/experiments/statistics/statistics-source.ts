import type { VariantStatsByName } from './variant-stats.js';

/**
 * Where the bandit reads per-variant reward statistics from, and where the gateway reports
 * what it served and what rewards came back. {@link InProcessStatistics} keeps them in this
 * process (one gateway, the embedded default); {@link SnapshotStatistics} starts from what
 * the aggregator publishes under `stats/{model}` so every replica decides alike.
 */
export interface StatisticsSource {
  /**
   * The latest statistics of model's variants; synchronous because it runs on every
   * prediction. The result never changes after it is returned, so a caller may hold it.
   */
  snapshot(model: string): VariantStatsByName;
  /** A prediction of model was served by the live variant. */
  recordTrial(model: string, variant: string): void;
  /** A verified, first-time reward arrived for a prediction variant served. */
  recordReward(model: string, variant: string, reward: number): void;
}
