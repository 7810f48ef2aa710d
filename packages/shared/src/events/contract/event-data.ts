/**
 * `data` of `infermesh.prediction.served`: one answered prediction, with what an analyst needs to
 * evaluate the routing policy offline (the propensity of the chosen variant).
 */
export interface PredictionServedData {
  /** Server-generated UUID; also in the response and the feedback token. */
  predictionId: string;
  requestId: string;
  model: string;
  /** The model's experiment name; null when the model has none. */
  experiment: string | null;
  variant: string;
  /** Model version that answered; null for a default output. */
  version: string | null;
  /** Probability in [0, 1] that the policy chose this variant for this request; 1 without an experiment. */
  propensity: number;
  /** True when the entity kept a variant it was assigned before. */
  sticky: boolean;
  latencyMs: number;
  /** True when the model's default output answered. */
  default: boolean;
  /** Error code that made the answer a default output; null otherwise. */
  defaultReason: string | null;
  /** Features that fell back to their configured default. */
  defaultedFeatures: string[];
  /** The request's inputs, when the model's event config asks for them. */
  inputs?: Record<string, unknown>;
  /** The response's outputs, when the model's event config asks for them. */
  outputs?: Record<string, unknown>;
  /** True when inputs or outputs were cut to the configured size bound. */
  truncated?: boolean;
  /** Sequence number of the experiment record the decision was made from. */
  recordSequence?: number | null;
  /**
   * False when no feedback token was issued (an Open Inference Protocol request, a default
   * output): the experiment aggregator counts a trial only for predictions that can be rewarded,
   * so variants are not judged on traffic no reward could ever come back for. Absent means true.
   */
  rewardable?: boolean;
}

/** `data` of `infermesh.prediction.shadow`: a live answer compared with a shadow variant's. */
export interface PredictionShadowData {
  /** The live prediction this shadow call copied. */
  predictionId: string;
  requestId: string;
  model: string;
  liveVariant: string;
  liveVersion: string | null;
  shadowVariant: string;
  shadowVersion: string | null;
  outcome: 'compared' | 'failed' | 'timeout';
  /** Largest absolute difference over all numeric outputs; null unless compared. */
  maxAbsDiff: number | null;
  /** Share in [0, 1] of rows whose argmax agrees; null unless compared. */
  argmaxAgreement: number | null;
  shadowLatencyMs: number | null;
  /** Why the shadow call failed; null unless failed. */
  errorCode: string | null;
}

/** `data` of `infermesh.feedback.received`: a reward attributed to a prediction. */
export interface FeedbackReceivedData {
  predictionId: string;
  model: string;
  variant: string;
  version: string | null;
  reward: number;
  /** Milliseconds since the prediction was served. */
  delayMs: number;
  /** Request id of the feedback call. */
  requestId: string;
}

/** Milliseconds a reload spent in each stage. */
export interface ReloadTimingsMs {
  fetch: number;
  verify: number;
  load: number;
  warmup: number;
}

/** `data` of `infermesh.model.reloaded`: a worker swapped in a new version. */
export interface ModelReloadedData {
  model: string;
  deployment: string;
  fromVersion: string | null;
  toVersion: string;
  /** Address of the worker, host:port. */
  worker: string;
  timingsMs: ReloadTimingsMs;
}

/** Stages of a reload, in order; `registry` is reading the deployment record. */
export const RELOAD_STAGES = ['registry', 'fetch', 'verify', 'load', 'compatibility', 'warmup'] as const;

/** `data` of `infermesh.model.reload_failed`: a worker kept its old version. */
export interface ModelReloadFailedData {
  model: string;
  deployment: string;
  fromVersion: string | null;
  toVersion: string;
  worker: string;
  stage: (typeof RELOAD_STAGES)[number];
  errorCode: string;
  message: string;
}

/** The `data` shape of each event type (keys are the values of EVENT_TYPE). */
export interface EventDataByType {
  'infermesh.prediction.served': PredictionServedData;
  'infermesh.prediction.shadow': PredictionShadowData;
  'infermesh.feedback.received': FeedbackReceivedData;
  'infermesh.model.reloaded': ModelReloadedData;
  'infermesh.model.reload_failed': ModelReloadFailedData;
}
