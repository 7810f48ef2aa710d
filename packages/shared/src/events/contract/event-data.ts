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

/**
 * `data` of `infermesh.prediction.failed`: a prediction routed to a variant that ended in a
 * server error (5xx) with no default output to answer instead. No answer was served, so it is
 * no `prediction.served`; the experiment aggregator counts it against the variant's error-rate
 * guardrail.
 */
export interface PredictionFailedData {
  predictionId: string;
  requestId: string;
  model: string;
  experiment: string | null;
  variant: string;
  /** The infermesh error code the client got. */
  errorCode: string;
  latencyMs: number;
  /** Sequence number of the experiment record the decision was made from. */
  recordSequence?: number | null;
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

/** The numbers an experiment concluded on, from the record that concluded it. */
export interface ConclusionEvidence {
  /** Sequence of that record. */
  sequence: number;
  probabilityBest: number;
  expectedLoss: number;
  /** The winner's trials. */
  trials: number;
}

/**
 * `data` of `infermesh.experiment.concluded` (and, in dry-run, `infermesh.experiment.would_conclude`):
 * the experiment's winner and, with a `promote` block, the version promoted to the deployment.
 */
export interface ExperimentConcludedData {
  model: string;
  winner: string;
  by: 'auto' | 'manual';
  /** Epoch ms the rule started to hold. */
  since: number;
  /** Epoch ms it concluded. */
  at: number;
  /** Deployment the winner's version is (or would be) promoted to; null without a `promote` block. */
  deployment: string | null;
  version: string | null;
  evidence: ConclusionEvidence;
}

/** `data` of `infermesh.experiment.guardrail_tripped`: a variant breached a guardrail and was taken out of live traffic (not in dry-run). */
export interface GuardrailTrippedData {
  model: string;
  variant: string;
  metric: 'errorRate' | 'defaultRate' | 'p99LatencyMs';
  value: number;
  max: number;
  /** Predictions measured when it tripped. */
  predictions: number;
  /** True in dry-run: nothing was disabled. */
  dryRun: boolean;
  /** Epoch ms. */
  trippedAt: number;
  /** Sequence of the record that tripped it. */
  sequence: number;
}

/** The `data` shape of each event type (keys are the values of EVENT_TYPE). */
export interface EventDataByType {
  'infermesh.prediction.served': PredictionServedData;
  'infermesh.prediction.shadow': PredictionShadowData;
  'infermesh.prediction.failed': PredictionFailedData;
  'infermesh.feedback.received': FeedbackReceivedData;
  'infermesh.model.reloaded': ModelReloadedData;
  'infermesh.model.reload_failed': ModelReloadFailedData;
  'infermesh.experiment.concluded': ExperimentConcludedData;
  'infermesh.experiment.would_conclude': ExperimentConcludedData;
  'infermesh.experiment.guardrail_tripped': GuardrailTrippedData;
}
