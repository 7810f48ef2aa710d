import type { EncodedEvent } from './encode-event-line.js';
import type { EventEnvelope } from './event-envelope.js';
import { isEventType, type EventType } from './event-types.js';

/**
 * One event read back from the spool, on its way to a sink: the envelope's JSON exactly as it
 * was spooled (already CloudEvents structured-mode JSON, so it is sent unchanged and serialised
 * once), and the attributes a sink routes it by.
 */
export interface SpooledEvent {
  /** The envelope's JSON text, without the line's newline. */
  json: string;
  type: EventType;
  /** The envelope's `partitionkey` (its `subject` when absent). */
  partitionKey: string;
  /** The envelope's `time`, milliseconds since the epoch. */
  timeMs: number;
}

/** The event a spool line holds, or undefined when the line is not a complete envelope of a known type (a corrupt line). */
export function readSpooledEvent(json: string): SpooledEvent | undefined {
  let envelope: Partial<EventEnvelope> | null;
  try {
    // Parsed whole, not just its attributes: a line damaged anywhere must not reach consumers.
    envelope = JSON.parse(json) as Partial<EventEnvelope> | null;
  } catch {
    return undefined;
  }
  if (envelope === null || typeof envelope !== 'object' || !isEventType(envelope.type)) return undefined;
  const partitionKey = typeof envelope.partitionkey === 'string' ? envelope.partitionkey : envelope.subject;
  const timeMs = typeof envelope.time === 'string' ? Date.parse(envelope.time) : Number.NaN;
  if (typeof partitionKey !== 'string' || !Number.isFinite(timeMs)) return undefined;
  return { json, type: envelope.type, partitionKey, timeMs };
}

/** The spooled form of an envelope: what a sink receives for it (for producers that do not spool, such as tests). */
export function spooledEventOf(envelope: EventEnvelope): SpooledEvent {
  const event = readSpooledEvent(JSON.stringify(envelope));
  if (event === undefined) throw new TypeError(`not a complete envelope of a known type: ${envelope.type}`);
  return event;
}

/** The spooled form of a line just encoded for the spool: what reading that line back would give, without reading it. */
export function spooledEventOfLine(encoded: EncodedEvent): SpooledEvent {
  return { json: encoded.line.slice(0, -1), type: encoded.type, partitionKey: encoded.partitionKey, timeMs: encoded.timeMs };
}
