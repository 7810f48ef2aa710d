import type { Routing } from '../experiments/variant-router.js';
import type { ServedModel } from '../models/served-model.js';
import type { PredictionFacts } from './prediction-event.js';

/** How one prediction was answered, beyond its model and the routing decision. */
export interface PredictionOutcome {
  predictionId: string;
  requestId: string;
  /** The model version that answered; null for a default output. */
  version: string | null;
  /** The error code a default output stands in for; null when the model answered. */
  defaultReason: string | null;
  /** Whether the answer holds for the request's entity (the REST binding carries none). */
  sticky: boolean;
  /** Monotonic milliseconds from the request's arrival to its answer. */
  latencyMs: number;
  /** Enriched features that fell back to their defaults. */
  defaultedFeatures: string[];
  /** Whether a reward can follow: a feedback token went out with the answer. */
  rewardable: boolean;
}

/** The facts of a served prediction, as its event and the experiment's counts read them: built the same way for every protocol. */
export function predictionFacts(model: ServedModel, routing: Routing, outcome: PredictionOutcome): PredictionFacts {
  return {
    predictionId: outcome.predictionId,
    requestId: outcome.requestId,
    model: model.name,
    experiment: model.experiment === undefined ? null : model.name,
    variant: routing.variant.name,
    version: outcome.version,
    propensity: routing.propensity,
    sticky: outcome.sticky,
    latencyMs: Math.max(0, outcome.latencyMs),
    default: outcome.defaultReason !== null,
    defaultReason: outcome.defaultReason,
    defaultedFeatures: outcome.defaultedFeatures,
    recordSequence: routing.recordSequence,
    rewardable: outcome.rewardable,
  };
}
