import { RELOAD_STAGES } from './event-data.js';
import { EVENT_TYPE, EVENT_TYPES, type EventType } from './event-types.js';
import { CLOUDEVENTS_SPEC_VERSION, EVENT_DATA_CONTENT_TYPE } from './event-envelope.js';

/** JSON Schema dialect of every event schema. */
export const JSON_SCHEMA_DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

/** A JSON Schema as a plain object. */
export type JsonSchema = Record<string, unknown>;

const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const RFC3339_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$';
/** An absolute URI (our sources are URNs); CloudEvents allows any URI-reference, we are stricter. */
const ABSOLUTE_URI_PATTERN = '^[a-zA-Z][a-zA-Z0-9+.-]*:\\S+$';

const text = { type: 'string', minLength: 1 };
const nullableText = { type: ['string', 'null'], minLength: 1 };
const uuid = { type: 'string', pattern: UUID_PATTERN };
const share = { type: 'number', minimum: 0, maximum: 1 };
const milliseconds = { type: 'number', minimum: 0 };
const nullableMilliseconds = { type: ['number', 'null'], minimum: 0 };

/**
 * A closed object: every `required` property must be there, `optional` ones may be, nothing else.
 * Adding an optional field to an event is one line in `optional` (and the TypeScript interface).
 */
function closedObject(required: Record<string, JsonSchema>, optional: Record<string, JsonSchema> = {}): JsonSchema {
  return { type: 'object', additionalProperties: false, required: Object.keys(required), properties: { ...required, ...optional } };
}

const PREDICTION_SERVED_DATA = closedObject(
  {
    predictionId: uuid,
    requestId: text,
    model: text,
    experiment: nullableText,
    variant: text,
    version: nullableText,
    propensity: share,
    sticky: { type: 'boolean' },
    latencyMs: milliseconds,
    default: { type: 'boolean' },
    defaultReason: nullableText,
    defaultedFeatures: { type: 'array', items: text },
  },
  {
    inputs: { type: 'object' },
    outputs: { type: 'object' },
    truncated: { type: 'boolean' },
    recordSequence: { type: ['integer', 'null'], minimum: 0 },
    rewardable: { type: 'boolean' },
  },
);

const PREDICTION_SHADOW_DATA = closedObject({
  predictionId: uuid,
  requestId: text,
  model: text,
  liveVariant: text,
  liveVersion: nullableText,
  shadowVariant: text,
  shadowVersion: nullableText,
  outcome: { enum: ['compared', 'failed', 'timeout'] },
  maxAbsDiff: { type: ['number', 'null'], minimum: 0 },
  argmaxAgreement: { type: ['number', 'null'], minimum: 0, maximum: 1 },
  shadowLatencyMs: nullableMilliseconds,
  errorCode: nullableText,
});

const PREDICTION_FAILED_DATA = closedObject(
  { predictionId: uuid, requestId: text, model: text, experiment: nullableText, variant: text, errorCode: text, latencyMs: milliseconds },
  { recordSequence: { type: ['integer', 'null'], minimum: 0 } },
);

const epochMs = { type: 'integer', minimum: 0 };

const EXPERIMENT_CONCLUDED_DATA = closedObject({
  model: text,
  winner: text,
  by: { enum: ['auto', 'manual'] },
  since: epochMs,
  at: epochMs,
  deployment: nullableText,
  version: nullableText,
  evidence: closedObject({ sequence: { type: 'integer', minimum: 0 }, probabilityBest: share, expectedLoss: { type: 'number' }, trials: { type: 'number', minimum: 0 } }),
});

const GUARDRAIL_TRIPPED_DATA = closedObject({
  model: text,
  variant: text,
  metric: { enum: ['errorRate', 'defaultRate', 'p99LatencyMs'] },
  value: { type: 'number', minimum: 0 },
  max: { type: 'number', minimum: 0 },
  predictions: { type: 'number', minimum: 0 },
  dryRun: { type: 'boolean' },
  trippedAt: epochMs,
  sequence: { type: 'integer', minimum: 0 },
});

const FEEDBACK_RECEIVED_DATA = closedObject({
  predictionId: uuid,
  model: text,
  variant: text,
  version: nullableText,
  reward: { type: 'number' },
  delayMs: { type: 'integer', minimum: 0 },
  requestId: text,
});

const LIFECYCLE_COMMON = { model: text, deployment: text, fromVersion: nullableText, toVersion: text, worker: text };

const MODEL_RELOADED_DATA = closedObject({
  ...LIFECYCLE_COMMON,
  timingsMs: closedObject({ fetch: milliseconds, verify: milliseconds, load: milliseconds, warmup: milliseconds }),
});

const MODEL_RELOAD_FAILED_DATA = closedObject({
  ...LIFECYCLE_COMMON,
  stage: { enum: [...RELOAD_STAGES] },
  errorCode: text,
  message: { type: 'string' },
});

/** Schema of each type's `data` (draft-07); closed, so a field added on one side only is caught. */
export const EVENT_DATA_SCHEMAS: Readonly<Record<EventType, JsonSchema>> = {
  [EVENT_TYPE.predictionServed]: { $schema: JSON_SCHEMA_DRAFT_07, title: EVENT_TYPE.predictionServed, ...PREDICTION_SERVED_DATA },
  [EVENT_TYPE.predictionShadow]: { $schema: JSON_SCHEMA_DRAFT_07, title: EVENT_TYPE.predictionShadow, ...PREDICTION_SHADOW_DATA },
  [EVENT_TYPE.predictionFailed]: { $schema: JSON_SCHEMA_DRAFT_07, title: EVENT_TYPE.predictionFailed, ...PREDICTION_FAILED_DATA },
  [EVENT_TYPE.feedbackReceived]: { $schema: JSON_SCHEMA_DRAFT_07, title: EVENT_TYPE.feedbackReceived, ...FEEDBACK_RECEIVED_DATA },
  [EVENT_TYPE.modelReloaded]: { $schema: JSON_SCHEMA_DRAFT_07, title: EVENT_TYPE.modelReloaded, ...MODEL_RELOADED_DATA },
  [EVENT_TYPE.modelReloadFailed]: { $schema: JSON_SCHEMA_DRAFT_07, title: EVENT_TYPE.modelReloadFailed, ...MODEL_RELOAD_FAILED_DATA },
  [EVENT_TYPE.experimentConcluded]: { $schema: JSON_SCHEMA_DRAFT_07, title: EVENT_TYPE.experimentConcluded, ...EXPERIMENT_CONCLUDED_DATA },
  [EVENT_TYPE.experimentWouldConclude]: { $schema: JSON_SCHEMA_DRAFT_07, title: EVENT_TYPE.experimentWouldConclude, ...EXPERIMENT_CONCLUDED_DATA },
  [EVENT_TYPE.experimentGuardrailTripped]: { $schema: JSON_SCHEMA_DRAFT_07, title: EVENT_TYPE.experimentGuardrailTripped, ...GUARDRAIL_TRIPPED_DATA },
};

/** Schema of the CloudEvents envelope (draft-07); `data` is checked by the schema of its type. */
export const EVENT_ENVELOPE_SCHEMA: JsonSchema = {
  $schema: JSON_SCHEMA_DRAFT_07,
  title: 'infermesh event envelope (CloudEvents 1.0, structured JSON)',
  ...closedObject({
    specversion: { const: CLOUDEVENTS_SPEC_VERSION },
    id: text,
    source: { type: 'string', pattern: ABSOLUTE_URI_PATTERN },
    type: { enum: [...EVENT_TYPES] },
    time: { type: 'string', pattern: RFC3339_PATTERN },
    subject: text,
    datacontenttype: { const: EVENT_DATA_CONTENT_TYPE },
    partitionkey: text,
    data: { type: 'object' },
  }),
};
