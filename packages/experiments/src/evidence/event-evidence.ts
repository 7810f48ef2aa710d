import type { EventInput } from '@infermesh/shared';
import type { PredictionOutcome } from './guardrail-measures.js';

/**
 * What one event tells the experiment aggregator: a prediction routed to a variant (a trial of
 * it when `counted`, and the outcome its guardrails measure), or a reward for one.
 */
export type Evidence =
  | {
      kind: 'trial';
      predictionId: string;
      model: string;
      variant: string;
      /** False when the prediction is measured for guardrails but is no trial of the bandit (absent means true). */
      counted?: boolean;
      /** How it ended, for guardrails (absent: not measured). */
      outcome?: PredictionOutcome;
      latencyMs?: number;
    }
  | { kind: 'reward'; predictionId: string; model: string; variant: string; reward: number };

/**
 * The evidence an event carries, if any: the aggregator inside a gateway and the aggregator
 * service read the same events through this one function. Every prediction of a model with an
 * experiment is measured (answered, default output, or failed: `prediction.failed`); it is a
 * trial only when a variant actually answered and it can be rewarded (a feedback token was
 * issued): default outputs and Open Inference Protocol requests count no trial.
 */
export function evidenceOf(event: EventInput): Evidence | undefined {
  if (event.type === 'infermesh.prediction.served') {
    const data = event.data;
    if (data.experiment === null) return undefined;
    const counted = !data.default && data.rewardable !== false;
    const outcome: PredictionOutcome = data.default ? 'default' : 'answered';
    return { kind: 'trial', predictionId: data.predictionId, model: data.model, variant: data.variant, counted, outcome, latencyMs: data.latencyMs };
  }
  if (event.type === 'infermesh.prediction.failed') {
    const data = event.data;
    if (data.experiment === null) return undefined;
    return { kind: 'trial', predictionId: data.predictionId, model: data.model, variant: data.variant, counted: false, outcome: 'error', latencyMs: data.latencyMs };
  }
  if (event.type === 'infermesh.feedback.received') {
    const data = event.data;
    return { kind: 'reward', predictionId: data.predictionId, model: data.model, variant: data.variant, reward: data.reward };
  }
  return undefined;
}
