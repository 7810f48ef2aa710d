import { InfermeshError } from '@infermesh/shared';

/**
 * What the bandit knows about one variant: sufficient statistics of its rewards. A trial is a
 * prediction served on a live variant; rewards arrive later and not for every trial (a
 * missing reward means 0 for binary rewards). The mean is rewardSum / trials; the variance
 * follows from rewardSumSquares.
 */
export interface VariantStats {
  /** Predictions served; fractional when a publisher discounts old evidence. */
  trials: number;
  rewardSum: number;
  rewardSumSquares: number;
  /** Milliseconds since the epoch of the last trial or reward counted. */
  updatedAt: number;
}

/** Statistics of a model's variants by variant name; never mutated once handed out. */
export type VariantStatsByName = Readonly<Record<string, Readonly<VariantStats>>>;

/** A variant nothing has been recorded for. */
export const EMPTY_VARIANT_STATS: Readonly<VariantStats> = Object.freeze({ trials: 0, rewardSum: 0, rewardSumSquares: 0, updatedAt: 0 });

/** The statistics of a model nothing has been recorded for. */
export const EMPTY_STATS_BY_NAME: VariantStatsByName = freezeStatsByName([]);

/** stats with one more trial at `at`. */
export function withTrial(stats: Readonly<VariantStats>, at: number): Readonly<VariantStats> {
  return Object.freeze({ ...stats, trials: stats.trials + 1, updatedAt: Math.max(stats.updatedAt, at) });
}

/** stats with one more reward at `at`; a non-finite reward is INVALID_ARGUMENT (it would poison the sums for good). */
export function withReward(stats: Readonly<VariantStats>, reward: number, at: number): Readonly<VariantStats> {
  if (!Number.isFinite(reward)) throw new InfermeshError('INVALID_ARGUMENT', `reward must be a finite number, got ${reward}`);
  return Object.freeze({
    trials: stats.trials,
    rewardSum: stats.rewardSum + reward,
    rewardSumSquares: stats.rewardSumSquares + reward * reward,
    updatedAt: Math.max(stats.updatedAt, at),
  });
}

/** The statistics of both evidence sets together. */
export function addVariantStats(left: Readonly<VariantStats>, right: Readonly<VariantStats>): Readonly<VariantStats> {
  return Object.freeze({
    trials: left.trials + right.trials,
    rewardSum: left.rewardSum + right.rewardSum,
    rewardSumSquares: left.rewardSumSquares + right.rewardSumSquares,
    updatedAt: Math.max(left.updatedAt, right.updatedAt),
  });
}

/**
 * A frozen record of copies of the given statistics. Its prototype is null so that a lookup
 * of a variant named like an Object method ('constructor') finds nothing rather than a function.
 */
export function freezeStatsByName(entries: Iterable<readonly [string, Readonly<VariantStats>]>): VariantStatsByName {
  const record = Object.create(null) as Record<string, Readonly<VariantStats>>;
  for (const [variant, stats] of entries) {
    record[variant] = Object.freeze({ trials: stats.trials, rewardSum: stats.rewardSum, rewardSumSquares: stats.rewardSumSquares, updatedAt: stats.updatedAt });
  }
  return Object.freeze(record);
}

/** record with variant's statistics replaced by next (copy on write: readers keep what they hold). */
export function withVariant(record: VariantStatsByName, variant: string, next: Readonly<VariantStats>): VariantStatsByName {
  return freezeStatsByName([...Object.entries(record).filter(([name]) => name !== variant), [variant, next]]);
}

/** variant's statistics in record, or {@link EMPTY_VARIANT_STATS}. */
export function statsOf(record: VariantStatsByName, variant: string): Readonly<VariantStats> {
  return Object.hasOwn(record, variant) ? record[variant]! : EMPTY_VARIANT_STATS;
}
