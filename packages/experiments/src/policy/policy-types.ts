/**
 * The shapes the experiment policy works on: variants with their statistics, and the
 * policies that split live traffic among them. Kept apart from the functions so the
 * modules implementing them import types without importing each other.
 */
import type { RewardModel } from './posteriors.js';
import type { VariantStatistics } from './variant-statistics.js';

/** Live variants answer requests; shadow variants get mirrored copies and never live traffic. */
export type VariantRole = 'live' | 'shadow';

/** One variant as the policy sees it. */
export interface VariantPolicyInput {
  readonly name: string;
  readonly enabled: boolean;
  readonly role: VariantRole;
  /** Relative share under a weighted policy and during a Thompson warm-up; default {@link DEFAULT_VARIANT_WEIGHT}. */
  readonly weight?: number;
  readonly stats: VariantStatistics;
}

/** Relative weight of a variant that names none. */
export const DEFAULT_VARIANT_WEIGHT = 1;

/** Fixed shares proportional to weights: A/B tests, canaries (95/5). */
export interface WeightedPolicy {
  readonly type: 'weighted';
  /** Only for reporting the probability of being best; default 'continuous', which also fits 0/1 rewards once counts are large. */
  readonly reward?: RewardModel['reward'];
  /** Rewards feedback may report (continuous rewards); see the experiment config. */
  readonly rewardRange?: RewardBounds;
}

/** A closed interval of accepted rewards. */
export interface RewardBounds {
  readonly min: number;
  readonly max: number;
}

/** How fast old evidence fades; absent means rewards are assumed stationary. */
export interface Forgetting {
  /**
   * Weight γ in (0, 1] of evidence one hour old relative to fresh evidence; 1 keeps
   * everything. Statistics are aligned to the newest `updatedAt` among the live variants.
   */
  readonly discountPerHour?: number;
}

/** Shares follow each live variant's posterior probability of having the best mean reward. */
export type ThompsonPolicy = {
  readonly type: 'thompson';
  /** Share every enabled live variant keeps, e.g. 0.01; capped at 1/k when k variants cannot all have it. */
  readonly minShare: number;
  /**
   * Trials every enabled live variant needs before the policy exploits; until then traffic
   * is split by weight, then floored. With forgetting, trials are the discounted count.
   */
  readonly minTrials: number;
  /** Rewards feedback may report (continuous rewards); see the experiment config. */
  readonly rewardRange?: RewardBounds;
} & RewardModel &
  Forgetting;

/** How an experiment splits live traffic. */
export type ExperimentPolicy = WeightedPolicy | ThompsonPolicy;

/** What posteriors are computed from: a reward model and optional forgetting (a ThompsonPolicy is one). */
export type PosteriorModel = RewardModel & Forgetting;

/** A variant's weight, defaulted. */
export function weightOf(variant: VariantPolicyInput): number {
  return variant.weight ?? DEFAULT_VARIANT_WEIGHT;
}
