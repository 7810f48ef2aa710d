import { encodeInferInputs, httpStatusFor, InfermeshError, tensorToJson, type EventPublisher, type JsonTensorValue, type Logger } from '@infermesh/shared';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { buildInputTensors } from '../models/build-input-tensors.js';
import type { ServedModel } from '../models/served-model.js';
import { routeRequest, type VariantRouterDependencies } from '../experiments/variant-router.js';
import type { FeedbackTokenSigner } from '../feedback/feedback-token-signer.js';
import type { ShadowRunner } from '../experiments/shadow/shadow-runner.js';
import { inferOnVariant } from './infer-on-variant.js';
import { predictionFailedEvent, predictionServedEvent, type PredictionFacts } from './prediction-event.js';
import { predictionFacts } from './prediction-facts.js';

/** The answer to `POST /v1/models/{model}/predict`. */
export interface PredictResponse {
  requestId: string;
  /** Server-generated id of this prediction: feedback and events join on it. */
  predictionId: string;
  model: string;
  variant: string;
  /** The model version that computed the outputs (absent for a default output). */
  version?: string;
  outputs: Record<string, JsonTensorValue>;
  /** True when the outputs are the configured default, not a prediction. */
  default: boolean;
  /** Signed proof of this prediction for `POST /v1/feedback` (absent for a default output). */
  feedbackToken?: string;
  /** Whether the variant assignment is sticky for the request's entity (experiments only). */
  sticky?: boolean;
  /** Enriched features that fell back to their defaults. */
  defaultedFeatures?: string[];
}

/** What a prediction needs besides the model. */
export interface PredictDependencies extends VariantRouterDependencies {
  now: () => number;
  /** Monotonic milliseconds: the latency an event reports. */
  elapsed: () => number;
  /** Where `infermesh.prediction.served` goes; the response waits until it is durable locally, never longer. */
  events: EventPublisher;
  /** A new, unique prediction id (a random UUID in production). */
  newPredictionId: () => string;
  metrics: GatewayMetrics;
  logger: Logger;
  feedbackTokens: FeedbackTokenSigner;
  shadows: ShadowRunner;
}

/** Errors after which a configured default output is returned instead (the SLO was missed). */
const DEFAULTABLE: ReadonlySet<string> = new Set(['DEADLINE_EXCEEDED', 'NO_HEALTHY_WORKER', 'UPSTREAM_UNAVAILABLE']);

/**
 * Runs one prediction within the model's deadline: validate → enrich → build tensors →
 * call a worker. On a missed deadline or no healthy worker it answers the model's default
 * output when one is configured, and otherwise throws the error (504/503). Every answered
 * prediction's event is in the local spool before the answer leaves.
 */
export async function predict(model: ServedModel, body: unknown, requestId: string, dependencies: PredictDependencies): Promise<PredictResponse> {
  const started = dependencies.elapsed();
  const { config } = model;
  const deadline = dependencies.now() + config.deadlineMs;
  const request = model.validate(body);
  const enrichment = await model.enrichment.enrich(request.entity, { deadline, requestId });
  const tensors = buildInputTensors(config, { inputs: request.inputs, features: enrichment.features, entity: request.entity });
  const defaultedFeatures = enrichment.defaulted.length > 0 ? { defaultedFeatures: enrichment.defaulted } : {};
  const predictionId = dependencies.newPredictionId();
  const routing = routeRequest(model, request.entity, dependencies);
  const variant = routing.variant.name;
  const stickiness = model.experiment === undefined ? {} : { sticky: routing.sticky };
  const facts = (version: string | null, defaultReason: string | null): PredictionFacts =>
    predictionFacts(model, routing, {
      predictionId,
      requestId,
      version,
      defaultReason,
      sticky: routing.sticky,
      latencyMs: dependencies.elapsed() - started,
      defaultedFeatures: enrichment.defaulted,
      rewardable: defaultReason === null,
    });
  let response: PredictResponse;
  let event: PredictionFacts;
  try {
    if (dependencies.now() >= deadline) {
      throw new InfermeshError('DEADLINE_EXCEEDED', `the ${config.deadlineMs} ms deadline passed during enrichment`);
    }
    const outputNames = config.outputs ?? [];
    const workerRequest = () => ({ modelName: config.workerModel ?? model.name, id: requestId, ...encodeInferInputs(tensors), outputs: outputNames.map((name) => ({ name })) });
    const callOptions = { deadline: new Date(deadline), requestId };
    const live = await inferOnVariant(routing.variant, { workerModel: config.workerModel ?? model.name, id: requestId, tensors, outputs: outputNames, ...callOptions });
    const liveOutputs = live.outputs;
    const version = live.modelVersion;
    dependencies.shadows.shadow(model, workerRequest, liveOutputs, { ...callOptions, predictionId, liveVariant: variant, liveVersion: version });
    const outputs = Object.fromEntries(liveOutputs.map((tensor) => [tensor.name, tensorToJson(tensor)]));
    const feedbackToken = dependencies.feedbackTokens.sign({ predictionId, requestId, model: model.name, variant, version, entity: routing.entity });
    response = { requestId, predictionId, model: model.name, variant, version, outputs, default: false, feedbackToken, ...stickiness, ...defaultedFeatures };
    event = facts(version, null);
  } catch (error) {
    const typed = InfermeshError.from(error);
    if (config.defaultOutput === undefined || !DEFAULTABLE.has(typed.code)) {
      // The variant failed the client: its error-rate guardrail must see it (a client's own mistake, a 4xx, is not the variant's).
      if (model.experiment !== undefined && httpStatusFor(typed.code) >= 500) await publishFailure(dependencies, predictionFailedEvent(facts(null, null), typed.code, routing.entity));
      throw typed;
    }
    dependencies.metrics.defaultOutputs.inc({ model: model.name, reason: typed.code });
    dependencies.logger.warn({ requestId, model: model.name, reason: typed.code, message: typed.message }, 'answered with the default output');
    response = { requestId, predictionId, model: model.name, variant, outputs: config.defaultOutput, default: true, ...stickiness, ...defaultedFeatures };
    event = facts(null, typed.code);
  }
  await dependencies.events.publish(predictionServedEvent(event, routing.entity, { inputs: request.inputs, outputs: response.outputs }, config.events, dependencies.random));
  return response;
}

/** Publishes a failed prediction's event; a spool that cannot take it must not replace the client's error. */
async function publishFailure(dependencies: PredictDependencies, event: Parameters<EventPublisher['publish']>[0]): Promise<void> {
  try {
    await dependencies.events.publish(event);
  } catch (error) {
    dependencies.logger.warn({ err: error, type: event.type }, 'cannot record the failed prediction');
  }
}
