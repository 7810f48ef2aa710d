import type { EventInput, JsonTensorValue, PredictionFailedData, PredictionServedData } from '@infermesh/shared';
import { DEFAULT_EVENT_MAX_BYTES, type PredictionEventConfig } from '../models/model-config.js';

/** What a served prediction's event says, before the optional inputs and outputs. */
export type PredictionFacts = Omit<PredictionServedData, 'inputs' | 'outputs' | 'truncated'>;

/** The request's inputs and the answer's outputs, for models whose config asks for them in events. */
export interface PredictionPayload {
  inputs?: Record<string, unknown>;
  outputs?: Record<string, JsonTensorValue>;
}

/**
 * The `infermesh.prediction.served` event of one prediction. The subject (Kafka key) is the
 * entity, so one user's events stay in order on one partition; without an entity, the
 * prediction id. Inputs and outputs travel only for the sampled share the model config asks
 * for, and only while the event stays within its byte bound (else `truncated`).
 */
export function predictionServedEvent(facts: PredictionFacts, entity: string, payload: PredictionPayload, config: PredictionEventConfig | undefined, random: () => number): EventInput {
  const data: PredictionServedData = { ...facts };
  const wanted = config !== undefined && (config.inputs === true || config.outputs === true) && random() < (config.sampleRate ?? 1);
  if (wanted) {
    const extra = {
      ...(config.inputs === true && payload.inputs !== undefined ? { inputs: payload.inputs } : {}),
      ...(config.outputs === true && payload.outputs !== undefined ? { outputs: payload.outputs } : {}),
    };
    const fits = Buffer.byteLength(JSON.stringify({ ...data, ...extra })) <= (config.maxBytes ?? DEFAULT_EVENT_MAX_BYTES);
    Object.assign(data, fits ? extra : {}, { truncated: !fits });
  }
  return { type: 'infermesh.prediction.served', subject: entity === '' ? facts.predictionId : entity, data };
}

/**
 * The `infermesh.prediction.failed` event of a prediction that a variant failed with a server
 * error and no default output: what the experiment's error-rate guardrail counts. Same subject
 * as the served event would have had.
 */
export function predictionFailedEvent(facts: PredictionFacts, errorCode: string, entity: string): EventInput {
  const data: PredictionFailedData = {
    predictionId: facts.predictionId,
    requestId: facts.requestId,
    model: facts.model,
    experiment: facts.experiment,
    variant: facts.variant,
    errorCode,
    latencyMs: facts.latencyMs,
    recordSequence: facts.recordSequence ?? null,
  };
  return { type: 'infermesh.prediction.failed', subject: entity === '' ? facts.predictionId : entity, data };
}
