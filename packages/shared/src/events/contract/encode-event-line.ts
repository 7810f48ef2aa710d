import { createEnvelope, type EnvelopeContext, type EventInput } from './event-envelope.js';

/** One event as a spool or event-file line. */
export interface EncodedEvent {
  /** The envelope as JSON, ending in a newline. */
  line: string;
  /** UTF-8 length of `line`. */
  bytes: number;
  type: EventInput['type'];
  /** The envelope's `partitionkey`. */
  partitionKey: string;
  /** The envelope's `time`, milliseconds since the epoch. */
  timeMs: number;
}

/** Wraps `event` in its envelope and serialises it as one NDJSON line; throws if `data` is not serialisable. */
export function encodeEventLine(event: EventInput, context: EnvelopeContext): EncodedEvent {
  const envelope = createEnvelope(event, context);
  const line = `${JSON.stringify(envelope)}\n`;
  return { line, bytes: Buffer.byteLength(line), type: event.type, partitionKey: envelope.partitionkey, timeMs: context.timeMs };
}
