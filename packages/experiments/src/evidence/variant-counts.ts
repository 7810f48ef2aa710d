import { discountStatistics, type Discount, type VariantStatistics } from '../policy/variant-statistics.js';

/** Evidence of one variant with the time it is discounted to. */
export interface CountedVariant {
  trials: number;
  rewardSum: number;
  rewardSumSquares: number;
  /** Milliseconds since the epoch the sums are discounted to. */
  updatedAt: number;
}

/** Counted evidence by model, then variant. */
export type CountsByModel = Record<string, Record<string, CountedVariant>>;

/**
 * The aggregator's tally: trials counted from prediction events, rewards from feedback
 * events, per model and variant. With a discount, the evidence already held decays to the
 * event's time before the event is added, and to the publication time when a record is
 * computed, so a variant that keeps receiving traffic forgets old evidence like one that
 * does not. Pure: no clock, no I/O; the same events in the same order give the same tally.
 */
export class VariantCounts {
  private readonly counts: CountsByModel;

  constructor(
    private readonly discountFor: (model: string) => Discount | undefined,
    initial: CountsByModel = {},
  ) {
    this.counts = structuredClone(initial);
  }

  /** One prediction served by `variant` at `at` (epoch ms). */
  countTrial(model: string, variant: string, at: number): void {
    this.update(model, variant, at, (stats) => {
      stats.trials += 1;
    });
  }

  /** One reward for a prediction `variant` served, received at `at` (epoch ms). */
  countReward(model: string, variant: string, reward: number, at: number): void {
    this.update(model, variant, at, (stats) => {
      stats.rewardSum += reward;
      stats.rewardSumSquares += reward * reward;
    });
  }

  /** Every variant of `model` with its evidence discounted to `at`. */
  statistics(model: string, at: number): Record<string, VariantStatistics & { updatedAt: number }> {
    const discount = this.discountFor(model);
    const result: Record<string, VariantStatistics & { updatedAt: number }> = {};
    for (const [variant, stats] of Object.entries(this.counts[model] ?? {})) {
      result[variant] = aligned(stats, at, discount);
    }
    return result;
  }

  /** Models with any evidence. */
  models(): string[] {
    return Object.keys(this.counts);
  }

  /** A copy of the whole tally (what a partition owner stores with its offset). */
  toJSON(): CountsByModel {
    return structuredClone(this.counts);
  }

  private update(model: string, variant: string, at: number, add: (stats: CountedVariant) => void): void {
    const variants = (this.counts[model] ??= Object.create(null) as Record<string, CountedVariant>);
    const current = variants[variant] ?? { trials: 0, rewardSum: 0, rewardSumSquares: 0, updatedAt: at };
    // An event older than the tally (a late one) counts with the weight its age already has.
    const discount = this.discountFor(model);
    const next = { ...aligned(current, Math.max(current.updatedAt, at), discount) };
    const before = { ...next };
    add(next);
    if (discount !== undefined && at < next.updatedAt) {
      const weight = discountStatistics({ trials: 1, rewardSum: 0, rewardSumSquares: 0, updatedAt: at }, next.updatedAt, discount).trials;
      next.trials = before.trials + (next.trials - before.trials) * weight;
      next.rewardSum = before.rewardSum + (next.rewardSum - before.rewardSum) * weight;
      next.rewardSumSquares = before.rewardSumSquares + (next.rewardSumSquares - before.rewardSumSquares) * weight;
    }
    next.updatedAt = Math.max(current.updatedAt, at);
    variants[variant] = next;
  }
}

function aligned(stats: CountedVariant, at: number, discount: Discount | undefined): CountedVariant {
  if (discount === undefined || at <= stats.updatedAt) return { ...stats };
  const decayed = discountStatistics(stats, at, discount);
  return { trials: decayed.trials, rewardSum: decayed.rewardSum, rewardSumSquares: decayed.rewardSumSquares, updatedAt: at };
}
