/**
 * Per-variant sufficient statistics and the pure operations on them. Replicas count rewards
 * locally, an aggregator merges the counts, and every replica's policy reads the merged
 * snapshot; so merging must not depend on the order counts arrive in.
 *
 * Discounting is by time, not per update: evidence `elapsed` ms old weighs
 * `factor^(elapsed / unitMs)`. Decaying per update would make the decay depend on traffic
 * volume and on which replica counted what, and merges would no longer commute. With time
 * decay, recording timestamped rewards in any order, or merging partial counts in any
 * grouping, gives the same statistics (up to rounding).
 */

/** Enough of a variant's reward history for every posterior the policy uses. */
export interface VariantStatistics {
  /** Observations counted; fractional once old evidence has been discounted. */
  readonly trials: number;
  /** Sum of rewards (successes, for binary rewards). */
  readonly rewardSum: number;
  /** Sum of squared rewards; gives the variance of continuous rewards. */
  readonly rewardSumSquares: number;
  /** Epoch milliseconds the statistics are discounted to; absent means age unknown, treated as current. */
  readonly updatedAt?: number;
}

/** Exponential forgetting: evidence `unitMs` old weighs `factor` times fresh evidence. */
export interface Discount {
  /** γ in (0, 1]; 1 never forgets. */
  readonly factor: number;
  /** Milliseconds over which evidence loses a factor γ. */
  readonly unitMs: number;
}

/** Statistics of a variant nothing has been recorded for. */
export const EMPTY_STATISTICS: VariantStatistics = Object.freeze({ trials: 0, rewardSum: 0, rewardSumSquares: 0 });

/** Options of {@link recordReward}. */
export interface RecordOptions {
  /** Epoch milliseconds the reward was observed; needed for discounting. */
  at?: number;
  /** Decay applied to older evidence; only takes effect together with `at`. */
  discount?: Discount;
}

/** A discount forgetting half the evidence every `halfLifeMs`. */
export function halfLifeDiscount(halfLifeMs: number): Discount {
  return { factor: 0.5, unitMs: halfLifeMs };
}

/** Throws RangeError unless 0 < factor ≤ 1 and unitMs is finite and positive. */
export function checkDiscount(discount: Discount): void {
  const { factor, unitMs } = discount;
  if (!(factor > 0 && factor <= 1 && unitMs > 0 && Number.isFinite(unitMs))) {
    throw new RangeError(`a discount needs 0 < factor <= 1 and a finite unitMs > 0, got factor ${factor}, unitMs ${unitMs}`);
  }
}

/** The weight of evidence `elapsedMs` old; 1 for zero or negative ages (evidence is never amplified). */
export function discountWeight(discount: Discount, elapsedMs: number): number {
  if (!(elapsedMs > 0) || discount.factor === 1) return 1;
  return discount.factor ** (elapsedMs / discount.unitMs);
}

/**
 * The statistics as seen at time `to`: every sum multiplied by the weight of their age.
 * Statistics already at or after `to` are returned unchanged; of unknown age, stamped `to`.
 */
export function discountStatistics(stats: VariantStatistics, to: number, discount: Discount): VariantStatistics {
  if (stats.updatedAt === undefined) return { ...stats, updatedAt: to };
  if (to <= stats.updatedAt) return stats;
  const weight = discountWeight(discount, to - stats.updatedAt);
  return {
    trials: stats.trials * weight,
    rewardSum: stats.rewardSum * weight,
    rewardSumSquares: stats.rewardSumSquares * weight,
    updatedAt: to,
  };
}

/**
 * The statistics with one more reward. With `at` and `discount`, older evidence decays to
 * the later of `at` and `updatedAt`, and a reward arriving late (before `updatedAt`, e.g.
 * from a slower replica) counts with the weight its age already has.
 */
export function recordReward(stats: VariantStatistics, reward: number, options: RecordOptions = {}): VariantStatistics {
  if (!Number.isFinite(reward)) throw new RangeError(`a reward must be a finite number, got ${reward}`);
  const { at, discount } = options;
  if (at === undefined) return withUpdatedAt(add(stats, reward, 1), stats.updatedAt);
  if (discount === undefined) return withUpdatedAt(add(stats, reward, 1), Math.max(stats.updatedAt ?? at, at));
  checkDiscount(discount);
  const reference = Math.max(stats.updatedAt ?? at, at);
  const aligned = discountStatistics(stats, reference, discount);
  return withUpdatedAt(add(aligned, reward, discountWeight(discount, reference - at)), reference);
}

/**
 * Both variants' evidence together. With a discount, each side first decays to the later
 * `updatedAt`, so merging is commutative and associative however counts were grouped.
 */
export function mergeStatistics(a: VariantStatistics, b: VariantStatistics, discount?: Discount): VariantStatistics {
  const times = [a.updatedAt, b.updatedAt].filter((time): time is number => time !== undefined);
  const reference = times.length === 0 ? undefined : Math.max(...times);
  let left = a;
  let right = b;
  if (discount !== undefined && reference !== undefined) {
    checkDiscount(discount);
    left = discountStatistics(a, reference, discount);
    right = discountStatistics(b, reference, discount);
  }
  return withUpdatedAt(
    {
      trials: left.trials + right.trials,
      rewardSum: left.rewardSum + right.rewardSum,
      rewardSumSquares: left.rewardSumSquares + right.rewardSumSquares,
    },
    reference,
  );
}

function add(stats: VariantStatistics, reward: number, weight: number): VariantStatistics {
  return {
    trials: stats.trials + weight,
    rewardSum: stats.rewardSum + weight * reward,
    rewardSumSquares: stats.rewardSumSquares + weight * reward * reward,
  };
}

function withUpdatedAt(stats: VariantStatistics, updatedAt: number | undefined): VariantStatistics {
  return updatedAt === undefined ? stats : { ...stats, updatedAt };
}
