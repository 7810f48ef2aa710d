import {
  EVENT_TYPE,
  type EventEnvelope,
  type ExperimentConcludedData,
  type GuardrailTrippedData,
  type PredictionFailedData,
  type FeedbackReceivedData,
  type ModelReloadedData,
  type ModelReloadFailedData,
  type PredictionServedData,
  type PredictionShadowData,
} from '@infermesh/shared';

/** Width of the type column: the longest short type, `model.reload_failed`. */
const TYPE_COLUMN = 19;

const at = (variant: unknown, version: unknown) => `${String(variant)}@${version === null || version === undefined ? '-' : String(version)}`;
const ms = (value: unknown) => (typeof value === 'number' ? `${Number(value.toFixed(1))}ms` : '-');
const num = (value: unknown, digits = 3) => (typeof value === 'number' ? String(Number(value.toFixed(digits))) : '-');

function served(data: PredictionServedData): string {
  const parts = [
    data.model,
    at(data.variant, data.version),
    `prediction=${data.predictionId}`,
    `request=${data.requestId}`,
    `latency=${ms(data.latencyMs)}`,
    `propensity=${num(data.propensity)}`,
  ];
  if (data.experiment !== null && data.experiment !== undefined) parts.push(`experiment=${data.experiment}`);
  if (data.sticky) parts.push('sticky');
  if (data.default) parts.push(`default(${data.defaultReason ?? '-'})`);
  if (data.defaultedFeatures?.length > 0) parts.push(`defaulted=${data.defaultedFeatures.join(',')}`);
  return parts.join(' ');
}

function failed(data: PredictionFailedData): string {
  return [data.model, at(data.variant, null), `prediction=${data.predictionId}`, `request=${data.requestId}`, `latency=${ms(data.latencyMs)}`, `error=${data.errorCode}`].join(' ');
}

function concluded(data: ExperimentConcludedData): string {
  const promoted = data.deployment === null ? 'no promotion' : `${data.deployment}→${data.version ?? '-'}`;
  const { evidence } = data;
  return [data.model, `winner=${data.winner}`, `by=${data.by}`, promoted, `record=${evidence.sequence}`, `pBest=${num(evidence.probabilityBest)}`, `expectedLoss=${num(evidence.expectedLoss, 6)}`, `trials=${num(evidence.trials, 0)}`].join(' ');
}

function tripped(data: GuardrailTrippedData): string {
  return [data.model, `variant=${data.variant}`, `${data.metric}=${num(data.value, 4)}>${num(data.max, 4)}`, `predictions=${num(data.predictions, 0)}`, ...(data.dryRun ? ['dry-run'] : [])].join(' ');
}

function shadow(data: PredictionShadowData): string {
  const parts = [data.model, `live=${at(data.liveVariant, data.liveVersion)}`, `shadow=${at(data.shadowVariant, data.shadowVersion)}`, data.outcome, `prediction=${data.predictionId}`];
  if (data.outcome === 'compared') parts.push(`maxAbsDiff=${num(data.maxAbsDiff, 6)}`, `argmaxAgreement=${num(data.argmaxAgreement)}`, `latency=${ms(data.shadowLatencyMs)}`);
  else parts.push(`error=${data.errorCode ?? '-'}`);
  return parts.join(' ');
}

function feedback(data: FeedbackReceivedData): string {
  return [data.model, at(data.variant, data.version), `prediction=${data.predictionId}`, `reward=${num(data.reward)}`, `delay=${ms(data.delayMs)}`, `request=${data.requestId}`].join(' ');
}

function reloaded(data: ModelReloadedData): string {
  const timings = data.timingsMs ?? {};
  return [
    data.model,
    data.deployment,
    `${data.fromVersion ?? '-'}→${data.toVersion}`,
    `worker=${data.worker}`,
    `fetch=${ms(timings.fetch)} verify=${ms(timings.verify)} load=${ms(timings.load)} warmup=${ms(timings.warmup)}`,
  ].join(' ');
}

function reloadFailed(data: ModelReloadFailedData): string {
  return [data.model, data.deployment, `${data.fromVersion ?? '-'}→${data.toVersion}`, `worker=${data.worker}`, `stage=${data.stage}`, `${data.errorCode}: ${data.message}`].join(' ');
}

/** The model an event is about, for filtering (`--model`); undefined when it names none. */
export function modelOf(envelope: EventEnvelope): string | undefined {
  const model = (envelope.data as { model?: unknown } | undefined)?.model;
  return typeof model === 'string' ? model : undefined;
}

/**
 * One human-readable line per event: time, short type, model, variant@version, the ids that
 * join events, and the numbers that matter for the type (latency, propensity, reward, timings).
 */
export function describeEvent(envelope: EventEnvelope): string {
  const shortType = String(envelope.type).replace(/^infermesh\./, '');
  const head = `${envelope.time} ${shortType.padEnd(TYPE_COLUMN)}`;
  try {
    switch (envelope.type) {
      case EVENT_TYPE.predictionServed:
        return `${head} ${served(envelope.data as PredictionServedData)}`;
      case EVENT_TYPE.predictionFailed:
        return `${head} ${failed(envelope.data as PredictionFailedData)}`;
      case EVENT_TYPE.experimentConcluded:
      case EVENT_TYPE.experimentWouldConclude:
        return `${head} ${concluded(envelope.data as ExperimentConcludedData)}`;
      case EVENT_TYPE.experimentGuardrailTripped:
        return `${head} ${tripped(envelope.data as GuardrailTrippedData)}`;
      case EVENT_TYPE.predictionShadow:
        return `${head} ${shadow(envelope.data as PredictionShadowData)}`;
      case EVENT_TYPE.feedbackReceived:
        return `${head} ${feedback(envelope.data as FeedbackReceivedData)}`;
      case EVENT_TYPE.modelReloaded:
        return `${head} ${reloaded(envelope.data as ModelReloadedData)}`;
      case EVENT_TYPE.modelReloadFailed:
        return `${head} ${reloadFailed(envelope.data as ModelReloadFailedData)}`;
    }
  } catch {
    // A malformed event of a known type: fall through to the generic line.
  }
  return `${head} subject=${String(envelope.subject)} id=${String(envelope.id)}`;
}
