import type { EventInput } from '@infermesh/shared';

/** What one event tells the experiment aggregator: a trial of a variant, or a reward for one. */
export type Evidence =
  | { kind: 'trial'; predictionId: string; model: string; variant: string }
  | { kind: 'reward'; predictionId: string; model: string; variant: string; reward: number };

/**
 * The evidence an event carries, if any: the aggregator inside a gateway and the aggregator
 * service read the same events through this one function. A trial is a prediction of a model
 * with an experiment that a variant actually answered and that can be rewarded (a feedback
 * token was issued): default outputs and Open Inference Protocol requests count nothing.
 */
export function evidenceOf(event: EventInput): Evidence | undefined {
  if (event.type === 'infermesh.prediction.served') {
    const data = event.data;
    if (data.experiment === null || data.default || data.rewardable === false) return undefined;
    return { kind: 'trial', predictionId: data.predictionId, model: data.model, variant: data.variant };
  }
  if (event.type === 'infermesh.feedback.received') {
    const data = event.data;
    return { kind: 'reward', predictionId: data.predictionId, model: data.model, variant: data.variant, reward: data.reward };
  }
  return undefined;
}
