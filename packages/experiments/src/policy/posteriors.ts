/**
 * Conjugate posteriors of a variant's mean reward, from its sufficient statistics.
 * Binary rewards (a click, a conversion): Beta–Bernoulli. Continuous rewards (books added
 * per session): Normal with unknown mean and variance under a Normal–Gamma prior
 * (Murphy, "Conjugate Bayesian analysis of the Gaussian distribution", 2007, §3).
 */
import { beta, gamma, normal, type RandomSource } from './random-source.js';
import type { VariantStatistics } from './variant-statistics.js';

/** Beta(alpha, beta) over a success rate; alpha − 1 prior successes, beta − 1 prior failures. */
export interface BetaParameters {
  readonly alpha: number;
  readonly beta: number;
}

/**
 * Normal–Gamma over (mean μ, precision τ): τ ~ Gamma(alpha, rate beta) and
 * μ | τ ~ Normal(mu, 1 / (kappa τ)); kappa counts the observations the belief about μ is worth.
 */
export interface NormalGammaParameters {
  readonly mu: number;
  readonly kappa: number;
  readonly alpha: number;
  readonly beta: number;
}

/** Uniform over the success rate: no variant is favoured before it has data. */
export const DEFAULT_BETA_PRIOR: BetaParameters = Object.freeze({ alpha: 1, beta: 1 });

/**
 * Mean 0 worth a hundredth of an observation, noise precision around 1: vague for rewards
 * of order 1 (counts per session). For rewards on another scale, set mu and beta to match.
 */
export const DEFAULT_NORMAL_GAMMA_PRIOR: NormalGammaParameters = Object.freeze({ mu: 0, kappa: 0.01, alpha: 1, beta: 1 });

/** How rewards are modelled, with an optional prior for that model. */
export type RewardModel = { readonly reward: 'binary'; readonly prior?: BetaParameters } | { readonly reward: 'continuous'; readonly prior?: NormalGammaParameters };

/** A Beta posterior over a success rate. */
export type BetaPosterior = { readonly family: 'beta' } & BetaParameters;
/** A Normal–Gamma posterior over a continuous reward's mean and precision. */
export type NormalGammaPosterior = { readonly family: 'normal-gamma' } & NormalGammaParameters;
/** A posterior over one variant's mean reward. */
export type Posterior = BetaPosterior | NormalGammaPosterior;

/**
 * Beta posterior: alpha + successes, beta + failures. Reward sums outside [0, trials] are
 * not Bernoulli; they are clamped so the parameters stay valid.
 */
export function betaPosterior(stats: VariantStatistics, prior: BetaParameters = DEFAULT_BETA_PRIOR): BetaPosterior {
  const trials = Math.max(0, stats.trials);
  const successes = Math.min(trials, Math.max(0, stats.rewardSum));
  return { family: 'beta', alpha: prior.alpha + successes, beta: prior.beta + (trials - successes) };
}

/**
 * Normal–Gamma posterior. Works for fractional (discounted) counts. The squared deviations
 * come from raw sums, so rewards with a large constant offset lose precision: record
 * rewards relative to a baseline when their mean dwarfs their spread.
 */
export function normalGammaPosterior(stats: VariantStatistics, prior: NormalGammaParameters = DEFAULT_NORMAL_GAMMA_PRIOR): NormalGammaPosterior {
  const n = stats.trials;
  if (!(n > 0)) return { family: 'normal-gamma', ...prior };
  const mean = stats.rewardSum / n;
  const squaredDeviations = Math.max(0, stats.rewardSumSquares - stats.rewardSum * mean);
  const kappa = prior.kappa + n;
  return {
    family: 'normal-gamma',
    mu: (prior.kappa * prior.mu + stats.rewardSum) / kappa,
    kappa,
    alpha: prior.alpha + n / 2,
    beta: prior.beta + squaredDeviations / 2 + (prior.kappa * n * (mean - prior.mu) ** 2) / (2 * kappa),
  };
}

/** The posterior of a variant's mean reward under `model`. */
export function posteriorFor(model: RewardModel, stats: VariantStatistics): Posterior {
  return model.reward === 'binary' ? betaPosterior(stats, model.prior) : normalGammaPosterior(stats, model.prior);
}

/** One draw of the mean reward from the posterior (a Thompson sample). */
export function samplePosteriorMean(posterior: Posterior, rng: RandomSource): number {
  if (posterior.family === 'beta') return beta(rng, posterior.alpha, posterior.beta);
  const precision = gamma(rng, posterior.alpha, 1 / posterior.beta);
  return posterior.mu + normal(rng) / Math.sqrt(posterior.kappa * precision);
}

/** The posterior's expected mean reward. */
export function posteriorMean(posterior: Posterior): number {
  return posterior.family === 'beta' ? posterior.alpha / (posterior.alpha + posterior.beta) : posterior.mu;
}

/** Throws RangeError unless the prior's parameters are finite and its scale parameters positive. */
export function checkPrior(model: RewardModel): void {
  const positive = (value: number) => value > 0 && Number.isFinite(value);
  let valid = true;
  if (model.reward === 'binary' && model.prior !== undefined) valid = positive(model.prior.alpha) && positive(model.prior.beta);
  if (model.reward === 'continuous' && model.prior !== undefined) {
    const { mu, kappa, alpha, beta: rate } = model.prior;
    valid = Number.isFinite(mu) && positive(kappa) && positive(alpha) && positive(rate);
  }
  if (!valid) throw new RangeError(`invalid ${model.reward} prior ${JSON.stringify(model.prior)}`);
}
