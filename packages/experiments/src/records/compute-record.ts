import type { ExperimentConfig } from '../config/experiment-config.js';
import type { ExperimentRecord, RecordVariant } from './experiment-record.js';
import { layoutShares, relayout } from './traffic-layout.js';
import { posteriorModelOf, shareReport } from '../policy/experiment-policy.js';
import { posteriorFor } from '../policy/posteriors.js';
import { summarizePosterior } from '../statistics/posterior-summary.js';
import type { VariantPolicyInput } from '../policy/policy-types.js';
import { seededRandom } from '../policy/random-source.js';
import { EMPTY_STATISTICS } from '../policy/variant-statistics.js';
import type { CountedVariant } from '../evidence/variant-counts.js';
import { summarizeMeasures } from '../evidence/guardrail-measures.js';
import { decideConclusion } from '../conclusions/decide-conclusion.js';
import { judgeGuardrails } from '../conclusions/judge-guardrails.js';

/** Joint posterior draws behind a record's shares and P(best): standard error ≤ 0.005 per share. */
export const RECORD_SHARE_SAMPLES = 10_000;

/**
 * Share movements smaller than this (total variation distance) keep the previous layout: Monte
 * Carlo noise alone would otherwise nudge a few entities to another variant at every publication.
 */
export const MIN_LAYOUT_CHANGE = 0.005;

/** What a record is computed from. */
export interface RecordInputs {
  model: string;
  experiment: ExperimentConfig;
  /** Evidence per variant, discounted to `now`. */
  statistics: Readonly<Record<string, CountedVariant>>;
  /** The record published before this one: its layout is moved as little as possible. */
  previous: ExperimentRecord | undefined;
  /** Milliseconds since the epoch. */
  now: number;
  samples?: number;
}

/**
 * The next record of a model: shares under the policy (weights, or floored Thompson
 * P(best) after the warm-up), P(best) and expected loss, each variant's posterior mean,
 * 95 % interval and descriptor, guardrail measures and trips (a tripped variant is out of the
 * policy), the conclusion state, and a layout moved minimally from the previous one (a
 * concluded experiment's: all live traffic on the winner).
 * Deterministic: the Monte Carlo draws are seeded by model and sequence, so recomputing a
 * record from the same inputs gives the same record. Variants counted but no longer in the
 * experiment keep an entry (their evidence is reported) and get no traffic.
 */
export function computeRecord(inputs: RecordInputs): ExperimentRecord {
  const { model, experiment, statistics, previous, now } = inputs;
  const sequence = (previous?.sequence ?? 0) + 1;
  const measured = Object.fromEntries(Object.entries(statistics).map(([name, stats]) => [name, stats.measured === undefined ? undefined : summarizeMeasures(stats.measured)]));
  const trips = judgeGuardrails(experiment, measured, previous, now);
  // A tripped guardrail is a kill switch the record applies: the policy sees the variant disabled.
  const out = (name: string) => trips[name] !== undefined && !trips[name]!.dryRun;
  const policyInputs: VariantPolicyInput[] = experiment.variants.map((variant) => ({
    name: variant.name,
    enabled: variant.enabled && !out(variant.name),
    role: variant.role,
    ...(variant.weight === undefined ? {} : { weight: variant.weight }),
    stats: statistics[variant.name] ?? EMPTY_STATISTICS,
  }));
  const options = { samples: inputs.samples ?? RECORD_SHARE_SAMPLES };
  const { shares, probabilityBest: best, expectedLoss } = shareReport(experiment.policy, policyInputs, seededRandom(`${model}|${sequence}`), options);
  const candidates = Object.fromEntries(
    policyInputs.filter((input) => input.enabled && input.role === 'live').map((input) => [input.name, { probabilityBest: best[input.name] ?? 0, expectedLoss: expectedLoss[input.name] ?? 0, trials: input.stats.trials }]),
  );
  const conclusion = decideConclusion({ experiment, previous, sequence, candidates, now });
  // A concluded experiment sends all live traffic to its winner (while the winner may take traffic).
  const routedToWinner = conclusion?.state === 'concluded' && candidates[conclusion.winner] !== undefined;
  const order = experiment.variants.map((variant) => variant.name);
  const targets = routedToWinner ? new Map([[conclusion.winner, 1]]) : new Map(order.map((name) => [name, shares[name] ?? 0] as const).filter(([, share]) => share > 0));
  const moved = previous === undefined ? 1 : totalVariation(layoutShares(previous.layout), targets);
  const layout = moved < MIN_LAYOUT_CHANGE ? previous!.layout : relayout(previous?.layout, targets, order);
  const widths = layoutShares(layout);

  const rewardModel = posteriorModelOf(experiment.policy);
  const variants: Record<string, RecordVariant> = {};
  for (const name of new Set([...order, ...Object.keys(statistics)])) {
    const stats = statistics[name] ?? { ...EMPTY_STATISTICS, updatedAt: now };
    variants[name] = {
      trials: stats.trials,
      rewardSum: stats.rewardSum,
      rewardSumSquares: stats.rewardSumSquares,
      updatedAt: Math.round(stats.updatedAt),
      share: widths.get(name) ?? 0,
      probabilityBest: best[name] ?? 0,
      expectedLoss: expectedLoss[name] ?? 0,
      ...summarizePosterior(posteriorFor(rewardModel, stats)),
      ...(measured[name] === undefined ? {} : { measured: measured[name] }),
      ...(trips[name] === undefined ? {} : { guardrail: trips[name] }),
    };
  }
  return { model, sequence, generatedAt: Math.round(now), variants, layout, ...(conclusion === undefined ? {} : { conclusion }) };
}

/** Half the L1 distance between two share maps: the fraction of traffic that must move. */
export function totalVariation(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const name of new Set([...a.keys(), ...b.keys()])) sum += Math.abs((a.get(name) ?? 0) - (b.get(name) ?? 0));
  return sum / 2;
}
