/**
 * The experiment policy: how live traffic is split among a model's variants (weighted A/B
 * and canary splits, or Thompson sampling with a floor per variant), which variant one
 * request goes to, and sticky assignment that agrees across replicas. Pure: randomness
 * comes in as a RandomSource, time only through the statistics' own timestamps.
 */
import { eligibleVariants, eligibleVariantsFor } from './eligible-variants.js';
import { samplePosteriorMean, type Posterior } from './posteriors.js';
import type { ExperimentPolicy, PosteriorModel, VariantPolicyInput } from './policy-types.js';
import { seededRandom, type RandomSource } from './random-source.js';
import { argmax, pickIndex, planShares, variantPosteriors, withFloor } from './share-plan.js';

export { DEFAULT_VARIANT_WEIGHT, type VariantRole, type VariantPolicyInput, type WeightedPolicy, type ThompsonPolicy, type ExperimentPolicy, type PosteriorModel, type Forgetting } from './policy-types.js';
export { shadowVariants } from './eligible-variants.js';

/** Joint posterior draws behind a Monte Carlo share; standard error at most 0.005 per share. */
export const DEFAULT_SHARE_SAMPLES = 10_000;

/** Options of Monte Carlo estimates. */
export interface ShareOptions {
  /** Joint posterior draws; default {@link DEFAULT_SHARE_SAMPLES}. */
  samples?: number;
}

/** Who is being assigned, in which experiment and window. */
export interface StickyKey {
  readonly experiment: string;
  /** The entity's kind, e.g. "userId". */
  readonly entityKey: string;
  readonly entityValue: string;
  /** Identifies the window (its start in epoch ms, or its index); every replica must derive the same number. */
  readonly windowStart: number;
}

/**
 * Each variant's share of live traffic, summing to 1: the probability {@link chooseVariant}
 * picks it. Disabled and shadow variants get 0; under Thompson every enabled live variant
 * gets at least the floor (minShare, capped at 1/k). Throws INVALID_CONFIG (see eligibleVariants).
 */
export function trafficShares(policy: ExperimentPolicy, variants: readonly VariantPolicyInput[], rng: RandomSource, options: ShareOptions = {}): Record<string, number> {
  const live = eligibleVariants(policy, variants);
  const plan = planShares(policy, live);
  const shares = plan.kind === 'fixed' ? plan.shares : withFloor(winFrequencies(plan.posteriors, rng, sampleCount(options)), plan.floor);
  return byName(variants, live, shares);
}

/**
 * Posterior probability that each enabled live variant has the highest mean reward (Monte
 * Carlo over joint draws); 0 for the others. Ignores weights, floors and warm-up: it answers
 * "who is winning", also for a weighted A/B test (modelled as its `reward` says).
 */
export function probabilityBest(policy: ExperimentPolicy | PosteriorModel, variants: readonly VariantPolicyInput[], rng: RandomSource, options: ShareOptions = {}): Record<string, number> {
  const model = posteriorModelOf(policy);
  const live = eligibleVariantsFor(model, variants);
  const probabilities = live.length === 1 ? [1] : winFrequencies(variantPosteriors(model, live), rng, sampleCount(options));
  return byName(variants, live, probabilities);
}

/**
 * {@link trafficShares} and {@link probabilityBest} from one set of joint posterior draws: what
 * an aggregator publishes, at half the cost of asking for each.
 */
export function shareReport(policy: ExperimentPolicy, variants: readonly VariantPolicyInput[], rng: RandomSource, options: ShareOptions = {}): { shares: Record<string, number>; probabilityBest: Record<string, number> } {
  const live = eligibleVariants(policy, variants);
  const plan = planShares(policy, live);
  const best = live.length === 1 ? [1] : winFrequencies(variantPosteriors(posteriorModelOf(policy), live), rng, sampleCount(options));
  const shares = plan.kind === 'fixed' ? plan.shares : withFloor(best, plan.floor);
  return { shares: byName(variants, live, shares), probabilityBest: byName(variants, live, best) };
}

/**
 * The live variant for one request; never a disabled or shadow one. Thompson: with
 * probability k·floor a uniformly chosen live variant, else the one whose posterior draw is
 * highest; so its chance of picking each variant is that variant's {@link trafficShares}
 * entry, with one draw per variant instead of a Monte Carlo estimate.
 */
export function chooseVariant(policy: ExperimentPolicy, variants: readonly VariantPolicyInput[], rng: RandomSource): string {
  const live = eligibleVariants(policy, variants);
  const plan = planShares(policy, live);
  if (plan.kind === 'fixed') return live[pickIndex(plan.shares, rng())]!.name;
  const u = rng();
  // The same uniform draw picks whom to explore: given u < k·floor, u / floor is uniform on [0, k).
  if (u < live.length * plan.floor) return live[Math.min(live.length - 1, Math.floor(u / plan.floor))]!.name;
  return live[argmax(plan.posteriors.map((posterior) => samplePosteriorMean(posterior, rng)))]!.name;
}

/**
 * {@link chooseVariant} with randomness seeded from the key alone: the same entity, window,
 * policy and statistics give the same variant on every replica. A new statistics snapshot
 * may move an entity; the window bounds how long an assignment outlives its evidence.
 */
export function assignSticky(policy: ExperimentPolicy, variants: readonly VariantPolicyInput[], key: StickyKey): string {
  return chooseVariant(policy, variants, seededRandom(stickySeed(key)));
}

/** The seed of a key; JSON keeps ("a|b", "c") and ("a", "b|c") apart. */
export function stickySeed(key: StickyKey): string {
  return JSON.stringify([key.experiment, key.entityKey, key.entityValue, key.windowStart]);
}

function posteriorModelOf(policy: ExperimentPolicy | PosteriorModel): PosteriorModel {
  const weighted = (policy as { type?: unknown }).type === 'weighted';
  return weighted ? { reward: (policy as { reward?: PosteriorModel['reward'] }).reward ?? 'continuous' } : (policy as PosteriorModel);
}

function winFrequencies(posteriors: readonly Posterior[], rng: RandomSource, samples: number): number[] {
  const wins = posteriors.map(() => 0);
  const draws = posteriors.map(() => 0);
  for (let sample = 0; sample < samples; sample += 1) {
    for (let index = 0; index < posteriors.length; index += 1) draws[index] = samplePosteriorMean(posteriors[index]!, rng);
    const winner = argmax(draws);
    wins[winner] = wins[winner]! + 1;
  }
  return wins.map((count) => count / samples);
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
