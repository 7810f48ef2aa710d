import { discountWeight, mergeStatistics, type Discount } from '../policy/variant-statistics.js';
import { combineMeasures } from './guardrail-measures.js';
import type { CountedVariant, CountsByModel } from './variant-counts.js';

/**
 * The sum of several tallies (e.g. one per Kafka partition), as one tally of all their events
 * would hold it. With a discount, each side first decays to the later of the two times before
 * the sums are added: exponential decay is linear, so the merge is exact (up to rounding) and
 * does not depend on how events were split between tallies or in which order they are merged.
 */
export function mergeCounts(tallies: readonly CountsByModel[], discountFor: (model: string) => Discount | undefined): CountsByModel {
  // Prototype-free maps: model and variant names come from events and stored state.
  const merged: CountsByModel = Object.create(null) as CountsByModel;
  for (const tally of tallies) {
    for (const [model, variants] of Object.entries(tally)) {
      const discount = discountFor(model);
      const into = (merged[model] ??= Object.create(null) as Record<string, CountedVariant>);
      for (const [variant, stats] of Object.entries(variants)) {
        const held = into[variant];
        if (held === undefined) {
          into[variant] = structuredClone(stats);
          continue;
        }
        const sum = mergeStatistics(held, stats, discount);
        const updatedAt = sum.updatedAt ?? Math.max(held.updatedAt, stats.updatedAt);
        const weight = (side: CountedVariant) => (discount === undefined ? 1 : discountWeight(discount, updatedAt - side.updatedAt));
        const measured = combineMeasures(held.measured, weight(held), stats.measured, weight(stats));
        into[variant] = { trials: sum.trials, rewardSum: sum.rewardSum, rewardSumSquares: sum.rewardSumSquares, updatedAt, ...(measured === undefined ? {} : { measured }) };
      }
    }
  }
  return merged;
}
