import type { EventDataByType } from './event-data.js';
import type { EventType } from './event-types.js';

/** CloudEvents specification version of every envelope. */
export const CLOUDEVENTS_SPEC_VERSION = '1.0';
/** `datacontenttype` of every envelope: `data` is a JSON object. */
export const EVENT_DATA_CONTENT_TYPE = 'application/json';

/**
 * One business event as a CloudEvents 1.0 envelope in structured JSON mode. `partitionkey` is the
 * CloudEvents partitioning extension; the Kafka binding uses it as the message key.
 */
export interface EventEnvelope<T extends EventType = EventType> {
  specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  /** Random UUID, kept when the event is resent: consumers deduplicate on it. */
  id: string;
  /** The emitting process, e.g. `urn:infermesh:gateway:host:8080`. */
  source: string;
  type: T;
  /** RFC 3339 time the event was published. */
  time: string;
  /** Entity id; the prediction id when there is no entity; the model name for lifecycle events. */
  subject: string;
  datacontenttype: typeof EVENT_DATA_CONTENT_TYPE;
  /** Equal to `subject`: events of one entity stay in order on one partition. */
  partitionkey: string;
  data: EventDataByType[T];
}

/** What a caller publishes: the envelope's attributes are filled in by the publisher. */
export type EventInput = { [T in EventType]: { type: T; subject: string; data: EventDataByType[T] } }[EventType];

/** Where the envelope's generated attributes come from. */
export interface EnvelopeContext {
  source: string;
  /** A fresh unique id (a random UUID in production). */
  id: string;
  /** Milliseconds since the epoch. */
  timeMs: number;
}

/** Wraps a published event in its CloudEvents envelope. */
export function createEnvelope(event: EventInput, context: EnvelopeContext): EventEnvelope {
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: context.id,
    source: context.source,
    type: event.type,
    time: new Date(context.timeMs).toISOString(),
    subject: event.subject,
    datacontenttype: EVENT_DATA_CONTENT_TYPE,
    partitionkey: event.subject,
    data: event.data,
  } as EventEnvelope;
}
