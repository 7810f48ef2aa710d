/**
 * The plan the policy's shares follow: fixed shares from weights (weighted, warm-up, a single
 * variant), or Thompson with a floor.
 *
 * Thompson floors: with k live variants and floor f, traffic is a mixture of a uniform split
 * (weight k·f) and the Thompson winner's share, so variant i gets f + (1 − k·f)·P(i is best)
 * and every live variant keeps at least f of the traffic (MyBook's new recommenders started
 * at a 1 % weight for the same reason). The mixture is also what one request sampled from the
 * plan gets (a uniform pick with probability k·f, else the highest of one posterior draw per
 * variant), so the shares stay those of Thompson sampling per request. Taking only the
 * deficit from the leaders ("water-filling") would give the best variant slightly more, but
 * would lose that reading.
 */
import { posteriorFor, type Posterior } from './posteriors.js';
import { weightOf, type ExperimentPolicy, type PosteriorModel, type VariantPolicyInput } from './policy-types.js';
import { discountStatistics, type Discount, type VariantStatistics } from './variant-statistics.js';

/** Milliseconds in the hour `discountPerHour` refers to. */
const MS_PER_HOUR = 3_600_000;

/**
 * How live traffic is split, index-aligned with the live variants: fixed shares (weighted
 * policy, Thompson warm-up, a single variant), or the floored Thompson mixture.
 */
export type SharePlan = { readonly kind: 'fixed'; readonly shares: readonly number[] } | { readonly kind: 'thompson'; readonly floor: number; readonly posteriors: readonly Posterior[] };

/** The split `policy` prescribes for `live` (checked by eligibleVariants, so weights sum above 0). */
export function planShares(policy: ExperimentPolicy, live: readonly VariantPolicyInput[]): SharePlan {
  const totalWeight = live.reduce((sum, variant) => sum + weightOf(variant), 0);
  const weighted = live.map((variant) => weightOf(variant) / totalWeight);
  if (policy.type === 'weighted') return { kind: 'fixed', shares: weighted };
  if (live.length === 1) return { kind: 'fixed', shares: [1] };
  const floor = Math.min(policy.minShare, 1 / live.length);
  const stats = alignedStatistics(policy, live);
  if (stats.some((variant) => variant.trials < policy.minTrials)) return { kind: 'fixed', shares: withFloor(weighted, floor) };
  return { kind: 'thompson', floor, posteriors: stats.map((variant) => posteriorFor(policy, variant)) };
}

/**
 * The split before any evidence counts: weights, floored under Thompson. What a gateway routes
 * by while it holds no record of the experiment (the warm-up of {@link planShares}).
 */
export function warmUpShares(policy: ExperimentPolicy, live: readonly VariantPolicyInput[]): number[] {
  const totalWeight = live.reduce((sum, variant) => sum + weightOf(variant), 0);
  const weighted = live.map((variant) => weightOf(variant) / totalWeight);
  if (policy.type === 'weighted' || live.length === 1) return weighted;
  return withFloor(weighted, Math.min(policy.minShare, 1 / live.length));
}

/** Each live variant's posterior under `model`, statistics aligned as {@link planShares} aligns them. */
export function variantPosteriors(model: PosteriorModel, live: readonly VariantPolicyInput[]): Posterior[] {
  return alignedStatistics(model, live).map((stats) => posteriorFor(model, stats));
}

/** Mixes `shares` with the uniform split so each gets at least `floor`: floor + (1 − k·floor)·share. */
export function withFloor(shares: readonly number[], floor: number): number[] {
  const rest = 1 - shares.length * floor;
  return shares.map((share) => floor + rest * share);
}

/** Index of the largest value; the first on ties. */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let index = 1; index < values.length; index += 1) if (values[index]! > values[best]!) best = index;
  return best;
}

/** The index whose cumulative share first exceeds `u` in [0, 1); a zero share is never picked. */
export function pickIndex(shares: readonly number[], u: number): number {
  let cumulative = 0;
  let lastPositive = 0;
  for (let index = 0; index < shares.length; index += 1) {
    const share = shares[index]!;
    if (share <= 0) continue;
    cumulative += share;
    lastPositive = index;
    if (u < cumulative) return index;
  }
  // Rounding can leave the total a hair under 1.
  return lastPositive;
}

/** The `discountPerHour` of a model as a {@link Discount}; undefined when it never forgets. */
export function discountOf(model: PosteriorModel): Discount | undefined {
  const factor = model.discountPerHour;
  return factor === undefined || factor === 1 ? undefined : { factor, unitMs: MS_PER_HOUR };
}

function alignedStatistics(model: PosteriorModel, live: readonly VariantPolicyInput[]): VariantStatistics[] {
  const stats = live.map((variant) => variant.stats);
  const discount = discountOf(model);
  const times = stats.map((variant) => variant.updatedAt).filter((time): time is number => time !== undefined);
  if (discount === undefined || times.length === 0) return stats;
  // The snapshot's own newest time, not a local clock: replicas holding the same snapshot
  // compute the same posteriors, which sticky assignment relies on.
  const reference = Math.max(...times);
  return stats.map((variant) => discountStatistics(variant, reference, discount));
}
