/** Prefix of every event topic by default; topics are `<prefix>predictions`, `<prefix>feedback`, `<prefix>lifecycle`. */
export const DEFAULT_TOPIC_PREFIX = 'infermesh.';

/** The CloudEvents `type` of every business event infermesh emits. Never rename one, only add. */
export const EVENT_TYPE = {
  predictionServed: 'infermesh.prediction.served',
  predictionShadow: 'infermesh.prediction.shadow',
  feedbackReceived: 'infermesh.feedback.received',
  modelReloaded: 'infermesh.model.reloaded',
  modelReloadFailed: 'infermesh.model.reload_failed',
  predictionFailed: 'infermesh.prediction.failed',
  experimentConcluded: 'infermesh.experiment.concluded',
  experimentWouldConclude: 'infermesh.experiment.would_conclude',
  experimentGuardrailTripped: 'infermesh.experiment.guardrail_tripped',
} as const;

/** One event type, e.g. `infermesh.prediction.served`. */
export type EventType = (typeof EVENT_TYPE)[keyof typeof EVENT_TYPE];

/** Every event type, in documentation order. */
export const EVENT_TYPES: readonly EventType[] = Object.values(EVENT_TYPE);

/** The topics events go to, without the prefix. */
export const EVENT_TOPICS = ['predictions', 'feedback', 'lifecycle'] as const;

/** A topic name without its prefix. */
export type EventTopic = (typeof EVENT_TOPICS)[number];

/** Which topic each type goes to: joins (prediction ↔ feedback) are by prediction id, not by topic. */
export const TOPIC_OF_TYPE: Readonly<Record<EventType, EventTopic>> = {
  [EVENT_TYPE.predictionServed]: 'predictions',
  [EVENT_TYPE.predictionShadow]: 'predictions',
  [EVENT_TYPE.predictionFailed]: 'predictions',
  [EVENT_TYPE.feedbackReceived]: 'feedback',
  [EVENT_TYPE.modelReloaded]: 'lifecycle',
  [EVENT_TYPE.modelReloadFailed]: 'lifecycle',
  [EVENT_TYPE.experimentConcluded]: 'lifecycle',
  [EVENT_TYPE.experimentWouldConclude]: 'lifecycle',
  [EVENT_TYPE.experimentGuardrailTripped]: 'lifecycle',
};

/** The full Kafka topic of an event type, e.g. `infermesh.predictions`. */
export function topicFor(type: EventType, prefix: string = DEFAULT_TOPIC_PREFIX): string {
  return `${prefix}${TOPIC_OF_TYPE[type]}`;
}

/** True when `value` is one of {@link EVENT_TYPES}. */
export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}
