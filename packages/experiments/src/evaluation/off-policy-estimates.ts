import { InfermeshError } from '@infermesh/shared/errors';
import type { CandidatePolicy } from './candidate-policy.js';
import type { LoggedDecision } from './logged-decision.js';

/** Two-sided 95 % quantile of the standard normal: the intervals are normal approximations. */
export const Z_95 = 1.959963984540054;
/**
 * Largest importance weight π(a)/p a decision may carry, by default. A weight of 100 means the
 * logging policy chose the variant with 1 % probability where the candidate always would: beyond
 * that a handful of decisions decide the estimate, so weights are clipped (biased towards 0, and said so).
 */
export const DEFAULT_MAX_WEIGHT = 100;

/** An estimate of a policy's average reward per decision, with its 95 % interval. */
export interface RewardEstimate {
  readonly value: number;
  readonly stdError: number;
  readonly low: number;
  readonly high: number;
}

/** What off-policy evaluation says about one candidate policy, from one set of logged decisions. */
export interface PolicyEvaluation {
  readonly policy: string;
  readonly decisions: number;
  /** Decisions a feedback event arrived for. */
  readonly rewarded: number;
  /** Share of decisions whose logged variant the candidate could also have chosen (π > 0): only they carry weight. */
  readonly evaluableShare: number;
  /** (Σw)² / Σw²: how many decisions the weighted estimate is worth. */
  readonly effectiveSampleSize: number;
  readonly minPropensity: number;
  readonly maxWeight: number;
  /** Decisions whose weight exceeded maxWeight and was clipped to it. */
  readonly clippedWeights: number;
  /** The logged rewards' plain mean: the logging policy's own reward, and what ignoring propensities would report. */
  readonly naive: RewardEstimate;
  /** Inverse propensity scoring: unbiased, high variance. */
  readonly ips: RewardEstimate;
  /** Self-normalised IPS: divides by the weights' sum instead of n; slightly biased, much steadier. */
  readonly snips: RewardEstimate;
  /** Doubly robust: the direct method's per-variant means, corrected by IPS on their residuals. */
  readonly doublyRobust: RewardEstimate;
  /** The direct method's model: mean logged reward per variant. */
  readonly variantMeans: ReadonlyMap<string, { readonly mean: number; readonly decisions: number }>;
}

/** Options of {@link evaluatePolicy}. */
export interface EvaluatePolicyOptions {
  readonly maxWeight?: number;
}

/** Estimates the average reward `policy` would have earned on the logged decisions (IPS, SNIPS, DR). */
export function evaluatePolicy(decisions: readonly LoggedDecision[], policy: CandidatePolicy, options: EvaluatePolicyOptions = {}): PolicyEvaluation {
  const n = decisions.length;
  if (n === 0) throw new InfermeshError('INVALID_ARGUMENT', 'no logged decisions to evaluate: the events read hold no rewardable prediction.served of the model');
  const maxWeight = options.maxWeight ?? DEFAULT_MAX_WEIGHT;
  const variantMeans = meansByVariant(decisions);
  const directValue = [...policy.probabilities].reduce((sum, [variant, probability]) => sum + probability * (variantMeans.get(variant)?.mean ?? 0), 0);

  const weights = new Float64Array(n);
  const ipsTerms = new Float64Array(n);
  const drTerms = new Float64Array(n);
  let clippedWeights = 0;
  let evaluable = 0;
  let minPropensity = 1;
  for (let i = 0; i < n; i += 1) {
    const decision = decisions[i]!;
    if (!(decision.propensity > 0 && decision.propensity <= 1)) {
      throw new InfermeshError('INVALID_ARGUMENT', `prediction ${decision.predictionId} logged propensity ${decision.propensity}: off-policy evaluation needs propensities in (0, 1]`);
    }
    minPropensity = Math.min(minPropensity, decision.propensity);
    const target = policy.probabilities.get(decision.variant) ?? 0;
    if (target > 0) evaluable += 1;
    let weight = target / decision.propensity;
    if (weight > maxWeight) {
      weight = maxWeight;
      clippedWeights += 1;
    }
    weights[i] = weight;
    ipsTerms[i] = weight * decision.reward;
    drTerms[i] = directValue + weight * (decision.reward - (variantMeans.get(decision.variant)?.mean ?? 0));
  }
  const weightSum = sum(weights);
  const weightSquares = weights.reduce((total, weight) => total + weight * weight, 0);
  return {
    policy: policy.name,
    decisions: n,
    rewarded: decisions.filter((decision) => decision.rewarded).length,
    evaluableShare: evaluable / n,
    effectiveSampleSize: weightSquares === 0 ? 0 : (weightSum * weightSum) / weightSquares,
    minPropensity,
    maxWeight,
    clippedWeights,
    naive: meanEstimate(Float64Array.from(decisions, (decision) => decision.reward)),
    ips: meanEstimate(ipsTerms),
    snips: selfNormalised(decisions, weights, weightSum),
    doublyRobust: meanEstimate(drTerms),
    variantMeans,
  };
}

function meansByVariant(decisions: readonly LoggedDecision[]): Map<string, { mean: number; decisions: number }> {
  const sums = new Map<string, { total: number; count: number }>();
  for (const { variant, reward } of decisions) {
    const entry = sums.get(variant) ?? { total: 0, count: 0 };
    entry.total += reward;
    entry.count += 1;
    sums.set(variant, entry);
  }
  return new Map([...sums].map(([variant, { total, count }]) => [variant, { mean: total / count, decisions: count }]));
}

/** The mean of per-decision terms, with the standard error of a mean of independent terms. */
function meanEstimate(terms: Float64Array): RewardEstimate {
  const n = terms.length;
  const mean = sum(terms) / n;
  const variance = n > 1 ? terms.reduce((total, term) => total + (term - mean) ** 2, 0) / (n - 1) : 0;
  return interval(mean, Math.sqrt(variance / n));
}

/** Σ w r / Σ w, with the delta method's standard error Σ w² (r − v)² / (Σ w)². */
function selfNormalised(decisions: readonly LoggedDecision[], weights: Float64Array, weightSum: number): RewardEstimate {
  if (weightSum === 0) return interval(0, 0);
  let weighted = 0;
  for (let i = 0; i < weights.length; i += 1) weighted += weights[i]! * decisions[i]!.reward;
  const value = weighted / weightSum;
  let spread = 0;
  for (let i = 0; i < weights.length; i += 1) spread += (weights[i]! * (decisions[i]!.reward - value)) ** 2;
  return interval(value, Math.sqrt(spread) / weightSum);
}

function interval(value: number, stdError: number): RewardEstimate {
  return { value, stdError, low: value - Z_95 * stdError, high: value + Z_95 * stdError };
}

function sum(values: Float64Array): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
