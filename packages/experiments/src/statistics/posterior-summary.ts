/**
 * What a record says about a variant's posterior besides P(best): its mean, a 95 % credible
 * interval of the mean, and a descriptor of the distribution of the mean that a reader (the
 * dashboard) can draw without knowing the conjugate families: Beta for binary rewards, the
 * Student-t marginal of the mean for Normal–Gamma.
 */
import { posteriorMean, type Posterior } from '../policy/posteriors.js';
import { betaQuantile, studentTQuantile } from './incomplete-beta.js';

/** The distribution of a variant's mean reward, as the record publishes it. */
export type PosteriorDescriptor = { readonly family: 'beta'; readonly alpha: number; readonly beta: number } | { readonly family: 'student-t'; readonly df: number; readonly location: number; readonly scale: number };

/** Probability mass of a record's credible interval. */
export const CREDIBLE_LEVEL = 0.95;

/** Mean, credible interval and descriptor of one variant's posterior. */
export interface PosteriorSummary {
  readonly mean: number;
  /** The (1 − level)/2 and (1 + level)/2 quantiles of the mean. */
  readonly interval: readonly [number, number];
  readonly posterior: PosteriorDescriptor;
}

/**
 * The descriptor of a posterior. Under Normal–Gamma(μ0, κ, α, β) the mean's marginal is a
 * Student-t with 2α degrees of freedom, location μ0 and scale √(β / (α κ)) (Murphy 2007, §3.5).
 */
export function describePosterior(posterior: Posterior): PosteriorDescriptor {
  if (posterior.family === 'beta') return { family: 'beta', alpha: posterior.alpha, beta: posterior.beta };
  return { family: 'student-t', df: 2 * posterior.alpha, location: posterior.mu, scale: Math.sqrt(posterior.beta / (posterior.alpha * posterior.kappa)) };
}

/** The mean, the central credible interval at `level` and the descriptor of `posterior`. */
export function summarizePosterior(posterior: Posterior, level: number = CREDIBLE_LEVEL): PosteriorSummary {
  const descriptor = describePosterior(posterior);
  const low = (1 - level) / 2;
  const high = (1 + level) / 2;
  const interval: [number, number] =
    descriptor.family === 'beta'
      ? [betaQuantile(low, descriptor.alpha, descriptor.beta), betaQuantile(high, descriptor.alpha, descriptor.beta)]
      : [descriptor.location + descriptor.scale * studentTQuantile(low, descriptor.df), descriptor.location + descriptor.scale * studentTQuantile(high, descriptor.df)];
  return { mean: posteriorMean(posterior), interval, posterior: descriptor };
}
