import type { EventInput } from '../contract/event-envelope.js';
import type { SpooledEvent } from '../contract/spooled-event.js';

/** Largest single event a publisher accepts, bytes of JSON (256 KiB); larger ones are dropped (a broker takes 1 MiB per batch). */
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;

/**
 * Where business events go. `publish` sits on every prediction's response path: it is cheap,
 * never throws and never rejects, and resolves once the event is durable locally (or was
 * dropped and counted, which only a full spool or a failing disk does).
 */
export interface EventPublisher {
  /** Human-readable destination, for logs. */
  readonly description: string;
  /** Opens files and connections; a broker that is down is not an error (events wait in the spool). */
  start(): Promise<void>;
  publish(event: EventInput): Promise<void>;
  /** Finishes pending writes and gives in-flight sends a grace period; what is not sent stays spooled. */
  stop(): Promise<void>;
}

/**
 * A remote destination the spool drains into (Kafka). `send` resolves only once every event of
 * the batch is durably accepted; it rejects on any failure and the batch is sent again.
 */
export interface EventSink {
  readonly description: string;
  /** Starts connecting in the background; never fails because the destination is down. */
  start(): Promise<void>;
  send(events: readonly SpooledEvent[]): Promise<void>;
  stop(): Promise<void>;
}
