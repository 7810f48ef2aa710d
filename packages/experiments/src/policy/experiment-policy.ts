/**
 * The experiment policy: how live traffic is split among a model's variants (weighted A/B
 * and canary splits, or Thompson sampling with a floor per variant) and how likely each is
 * to be best. The aggregator publishes both in the record; which variant one request goes
 * to is decided from the record (assignment/assign-variant.ts). Pure: randomness comes in
 * as a RandomSource, time only through the statistics' own timestamps.
 */
import { eligibleVariants, eligibleVariantsFor } from './eligible-variants.js';
import { samplePosteriorMean, type Posterior } from './posteriors.js';
import type { ExperimentPolicy, PosteriorModel, VariantPolicyInput } from './policy-types.js';
import type { RandomSource } from './random-source.js';
import { argmax, planShares, variantPosteriors, withFloor } from './share-plan.js';

export { DEFAULT_VARIANT_WEIGHT, type VariantRole, type VariantPolicyInput, type WeightedPolicy, type ThompsonPolicy, type ExperimentPolicy, type PosteriorModel, type Forgetting } from './policy-types.js';
export { shadowVariants } from './eligible-variants.js';

/** Joint posterior draws behind a Monte Carlo share; standard error at most 0.005 per share. */
export const DEFAULT_SHARE_SAMPLES = 10_000;

/** Options of Monte Carlo estimates. */
export interface ShareOptions {
  /** Joint posterior draws; default {@link DEFAULT_SHARE_SAMPLES}. */
  samples?: number;
}

/**
 * Posterior probability that each enabled live variant has the highest mean reward (Monte
 * Carlo over joint draws); 0 for the others. Ignores weights, floors and warm-up: it answers
 * "who is winning", also for a weighted A/B test (modelled as its `reward` says).
 */
export function probabilityBest(policy: ExperimentPolicy | PosteriorModel, variants: readonly VariantPolicyInput[], rng: RandomSource, options: ShareOptions = {}): Record<string, number> {
  const model = posteriorModelOf(policy);
  const live = eligibleVariantsFor(model, variants);
  const probabilities = live.length === 1 ? [1] : jointDraws(variantPosteriors(model, live), rng, sampleCount(options)).best;
  return byName(variants, live, probabilities);
}

/** What {@link shareReport} returns, each by variant name. */
export interface ShareReport {
  shares: Record<string, number>;
  probabilityBest: Record<string, number>;
  /**
   * E[max_j θ_j − θ_i] over the enabled live variants j: the reward given up by choosing i if
   * another is best (GrowthBook's "risk"); from the same joint draws as P(best). Variants that
   * are not enabled and live get 0 (they cannot be chosen).
   */
  expectedLoss: Record<string, number>;
}

/**
 * Each variant's share of live traffic, summing to 1, {@link probabilityBest} and the expected
 * loss, from one set of joint posterior draws: what an aggregator publishes in the record.
 * Disabled and shadow variants get 0; under Thompson every enabled live variant gets at least
 * the floor (minShare, capped at 1/k). Throws INVALID_CONFIG (see eligibleVariants).
 */
export function shareReport(policy: ExperimentPolicy, variants: readonly VariantPolicyInput[], rng: RandomSource, options: ShareOptions = {}): ShareReport {
  const live = eligibleVariants(policy, variants);
  const plan = planShares(policy, live);
  const { best, loss } = live.length === 1 ? { best: [1], loss: [0] } : jointDraws(variantPosteriors(posteriorModelOf(policy), live), rng, sampleCount(options));
  const shares = plan.kind === 'fixed' ? plan.shares : withFloor(best, plan.floor);
  return { shares: byName(variants, live, shares), probabilityBest: byName(variants, live, best), expectedLoss: byName(variants, live, loss) };
}

/** The reward model a policy's posteriors follow (a weighted policy's `reward`, continuous by default). */
export function posteriorModelOf(policy: ExperimentPolicy | PosteriorModel): PosteriorModel {
  const weighted = (policy as { type?: unknown }).type === 'weighted';
  return weighted ? { reward: (policy as { reward?: PosteriorModel['reward'] }).reward ?? 'continuous' } : (policy as PosteriorModel);
}

/** Per variant, how often its draw was the highest and how far below the highest it was on average. */
function jointDraws(posteriors: readonly Posterior[], rng: RandomSource, samples: number): { best: number[]; loss: number[] } {
  const wins = posteriors.map(() => 0);
  const shortfall = posteriors.map(() => 0);
  const draws = posteriors.map(() => 0);
  for (let sample = 0; sample < samples; sample += 1) {
    for (let index = 0; index < posteriors.length; index += 1) draws[index] = samplePosteriorMean(posteriors[index]!, rng);
    const winner = argmax(draws);
    wins[winner] = wins[winner]! + 1;
    const highest = draws[winner]!;
    for (let index = 0; index < posteriors.length; index += 1) shortfall[index] = shortfall[index]! + (highest - draws[index]!);
  }
  return { best: wins.map((count) => count / samples), loss: shortfall.map((sum) => sum / samples) };
}

function sampleCount(options: ShareOptions): number {
  const samples = options.samples ?? DEFAULT_SHARE_SAMPLES;
  if (!(Number.isInteger(samples) && samples >= 1)) throw new RangeError(`samples must be a positive integer, got ${samples}`);
  return samples;
}

function byName(variants: readonly VariantPolicyInput[], live: readonly VariantPolicyInput[], shares: readonly number[]): Record<string, number> {
  const liveShare = new Map(live.map((variant, index) => [variant, shares[index]!]));
  // fromEntries defines own properties, so a variant named "__proto__" is just a name.
  return Object.fromEntries(variants.map((variant) => [variant.name, liveShare.get(variant) ?? 0]));
}
