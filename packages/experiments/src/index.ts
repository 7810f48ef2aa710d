// The experiment domain, pure: no I/O, no clock, no global randomness (callers pass `now` and
// a RandomSource). Loads only ajv and the side-effect-free entries of @infermesh/shared.
export { seededRandom, fnv1a32, normal, gamma, beta, type RandomSource } from './policy/random-source.js';
export {
  EMPTY_STATISTICS,
  recordReward,
  mergeStatistics,
  discountStatistics,
  discountWeight,
  halfLifeDiscount,
  type VariantStatistics,
  type Discount,
  type RecordOptions,
} from './policy/variant-statistics.js';
export {
  DEFAULT_BETA_PRIOR,
  DEFAULT_NORMAL_GAMMA_PRIOR,
  betaPosterior,
  normalGammaPosterior,
  posteriorFor,
  samplePosteriorMean,
  posteriorMean,
  type BetaParameters,
  type NormalGammaParameters,
  type RewardModel,
  type Posterior,
  type BetaPosterior,
  type NormalGammaPosterior,
} from './policy/posteriors.js';
export {
  DEFAULT_VARIANT_WEIGHT,
  DEFAULT_SHARE_SAMPLES,
  shareReport,
  probabilityBest,
  shadowVariants,
  posteriorModelOf,
  type ShareOptions,
  type ShareReport,
  type VariantRole,
  type VariantPolicyInput,
  type WeightedPolicy,
  type ThompsonPolicy,
  type ExperimentPolicy,
  type PosteriorModel,
  type Forgetting,
} from './policy/experiment-policy.js';
export { planShares, warmUpShares, withFloor, argmax, pickIndex, discountOf, type SharePlan } from './policy/share-plan.js';
export {
  parseExperimentConfig,
  rewardRangeOf,
  checkReward,
  EXPERIMENT_CONFIG_SCHEMA,
  DEFAULT_REWARD_RANGE,
  MAX_REWARD_MAGNITUDE,
  DEFAULT_STICKINESS_SECONDS,
  DEFAULT_SHADOW_CONCURRENCY,
  MAX_EXPERIMENT_VARIANTS,
  type ExperimentConfig,
  type VariantConfig,
  type RewardRange,
} from './config/experiment-config.js';
export { evidenceOf, type Evidence } from './evidence/event-evidence.js';
export { VariantCounts, countEvidence, type CountedVariant, type CountsByModel } from './evidence/variant-counts.js';
export {
  emptyMeasures,
  addOutcome,
  combineMeasures,
  latencyBucket,
  latencyBound,
  latencyQuantile,
  summarizeMeasures,
  LATENCY_BUCKETS,
  LATENCY_BUCKETS_PER_DOUBLING,
  LATENCY_FIRST_BOUND_MS,
  type GuardrailMeasures,
  type MeasuredSummary,
  type PredictionOutcome,
} from './evidence/guardrail-measures.js';
export { mergeCounts } from './evidence/merge-counts.js';
export { parseExperimentRecord, checkExperimentRecord, EXPERIMENT_RECORD_SCHEMA, type ExperimentRecord, type RecordVariant, type RecordConclusion, type VariantGuardrail } from './records/experiment-record.js';
export { computeRecord, RECORD_SHARE_SAMPLES, MIN_LAYOUT_CHANGE, totalVariation, type RecordInputs } from './records/compute-record.js';
export { relayout, contiguousLayout, layoutShares, bandAt, checkLayout, MAX_LAYOUT_BANDS, type TrafficLayout, type LayoutBand } from './records/traffic-layout.js';
export { RecordStore, type RecordSource } from './records/record-store.js';
export { assignVariant, entityPosition, effectiveShares, warmUpLayout, type Assignment, type AssignmentKey } from './assignment/assign-variant.js';
export { DecisionJoiner, type JoinableEvent, type JoinedDecisions } from './evaluation/decision-joiner.js';
export { parseCandidatePolicy, CANDIDATE_POLICY_FORMS, type CandidatePolicy, type PolicyContext } from './evaluation/candidate-policy.js';
export { evaluatePolicy, DEFAULT_MAX_WEIGHT, Z_95, type PolicyEvaluation, type RewardEstimate, type EvaluatePolicyOptions } from './evaluation/off-policy-estimates.js';
export type { LoggedDecision } from './evaluation/logged-decision.js';
export { historyPointOf, MAX_HISTORY_VARIANTS, type HistoryPoint, type HistoryVariant } from './history/history-point.js';
export {
  appendPoint,
  chunkKey,
  chunkStartOf,
  decodeChunk,
  emptyChunk,
  encodeChunk,
  historyPrefixOf,
  parseChunkKey,
  CHUNK_FIELDS,
  CHUNK_SPAN_MS,
  CONSUL_VALUE_LIMIT_BYTES,
  MAX_CHUNK_BYTES,
  MINUTE_MS,
  HOUR_MS,
  DAY_MS,
  type HistoryChunk,
  type HistoryResolution,
} from './history/history-chunk.js';
export { dueMaintenance, foldIntoHours, historyPointsBetween, MINUTE_POINTS_KEPT_MS, HISTORY_KEPT_MS, MAX_MAINTENANCE_ACTIONS, type MaintenanceAction } from './history/downsample-history.js';
export { HistoryWriter, HISTORY_MAINTENANCE_INTERVAL_MS, type AppendOutcome, type HistoryWriterDependencies } from './history/history-writer.js';
export { describePosterior, summarizePosterior, CREDIBLE_LEVEL, type PosteriorDescriptor, type PosteriorSummary } from './statistics/posterior-summary.js';
export { betaQuantile, studentTQuantile, regularizedIncompleteBeta, logGamma } from './statistics/incomplete-beta.js';
export {
  CONCLUDE_CONFIG_SCHEMA,
  DEFAULT_GUARDRAIL_MIN_PREDICTIONS,
  DEFAULT_CONCLUDE_FOR_SECONDS,
  type ConcludeConfig,
  type GuardrailConfig,
  type GuardrailMetric,
  type ManualConclusion,
} from './config/conclude-config.js';
export { judgeGuardrails, guardrailValue } from './conclusions/judge-guardrails.js';
export { decideConclusion, type ConclusionCandidate, type ConclusionInputs } from './conclusions/decide-conclusion.js';
export { recordEvents, concludedEvent } from './conclusions/conclusion-events.js';
export { promoteWinner, MAX_PROMOTION_ATTEMPTS, type PromotionRegistry } from './conclusions/promote-winner.js';
