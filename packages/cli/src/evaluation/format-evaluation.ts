import type { JoinedDecisions, PolicyEvaluation, RewardEstimate } from '@infermesh/experiments';
import { formatTable } from '../output/format-table.js';

/** Propensities below this get a warning: a decision logged with it weighs 100 times or more. */
export const TINY_PROPENSITY = 0.01;

const number = (value: number) => value.toLocaleString('en-US');
const reward = (value: number) => value.toFixed(4);
const percent = (value: number) => `${(value * 100).toFixed(1)} %`;

function row(name: string, estimate: RewardEstimate, note: string): string[] {
  return [name, reward(estimate.value), `[${reward(estimate.low)}, ${reward(estimate.high)}]`, note];
}

/** The text report of `infermesh evaluate`: what was read, then one row per estimator. */
export function formatEvaluation(model: string, source: string, joined: JoinedDecisions, evaluation: PolicyEvaluation): string {
  const skipped = [
    joined.duplicateEvents > 0 ? `${number(joined.duplicateEvents)} replayed events counted once` : '',
    joined.notRewardable > 0 ? `${number(joined.notRewardable)} predictions no reward could come back for left out` : '',
    joined.unmatchedFeedback > 0 ? `${number(joined.unmatchedFeedback)} feedback events without their prediction` : '',
  ].filter((part) => part !== '');
  const means = [...evaluation.variantMeans].sort(([a], [b]) => a.localeCompare(b)).map(([variant, { mean, decisions }]) => `${variant} ${reward(mean)} (n ${number(decisions)})`);
  return [
    `model ${model}, policy ${evaluation.policy}: ${source}`,
    `${number(evaluation.decisions)} logged decisions, ${number(evaluation.rewarded)} with feedback${skipped.length > 0 ? `; ${skipped.join('; ')}` : ''}`,
    `the policy could have chosen the logged variant in ${percent(evaluation.evaluableShare)} of them; effective sample size ${number(Math.round(evaluation.effectiveSampleSize))}; smallest propensity ${evaluation.minPropensity.toPrecision(2)}`,
    '',
    formatTable(
      ['estimator', 'reward/decision', '95 % interval', ''],
      [
        row('IPS', evaluation.ips, 'inverse propensity scoring: unbiased'),
        row('SNIPS', evaluation.snips, 'self-normalised IPS: steadier'),
        row('doubly robust', evaluation.doublyRobust, 'per-variant means corrected by IPS'),
        row('naive mean', evaluation.naive, "ignores propensities: the logging policy's own reward"),
      ],
    ),
    '',
    `per-variant means (the direct method's model): ${means.join(' · ')}`,
    '',
  ].join('\n');
}
