import { randomUUID } from 'node:crypto';
import { createEnvelope, type EventEnvelope, type EventInput } from '../contract/event-envelope.js';
import type { EventPublisher } from './event-publisher.js';

/** Events an in-memory publisher keeps by default; older ones are evicted first. */
export const DEFAULT_IN_MEMORY_EVENTS = 10_000;

/** Options of an {@link InMemoryEventPublisher}. */
export interface InMemoryEventPublisherOptions {
  source: string;
  now?: () => number;
  randomId?: () => string;
  /** Most events kept; the oldest are evicted beyond it. */
  maxEvents?: number;
}

/**
 * Keeps the last events in memory, in the exact envelopes the durable publishers write: for unit
 * tests of code that publishes, and for processes that want events inspectable but not kept.
 */
export class InMemoryEventPublisher implements EventPublisher {
  readonly description = 'memory';
  /** The kept envelopes, oldest first. */
  readonly events: EventEnvelope[] = [];
  /** Envelopes evicted because `maxEvents` was reached. */
  evicted = 0;
  /** Events dropped because their data is not JSON-serialisable (the durable publishers drop them too). */
  unserializable = 0;
  private readonly now: () => number;
  private readonly randomId: () => string;
  private readonly maxEvents: number;

  constructor(private readonly options: InMemoryEventPublisherOptions) {
    this.now = options.now ?? Date.now;
    this.randomId = options.randomId ?? randomUUID;
    this.maxEvents = options.maxEvents ?? DEFAULT_IN_MEMORY_EVENTS;
  }

  async start(): Promise<void> {}

  /** Records a copy of the event's envelope as it would be serialised; never throws or rejects. */
  async publish(event: EventInput): Promise<void> {
    let envelope: EventEnvelope;
    try {
      // Serialised now, as the durable publishers do: later changes to `data` by the caller do not show.
      envelope = JSON.parse(JSON.stringify(createEnvelope(event, { source: this.options.source, id: this.randomId(), timeMs: this.now() }))) as EventEnvelope;
    } catch {
      this.unserializable += 1;
      return;
    }
    this.events.push(envelope);
    if (this.events.length > this.maxEvents) {
      this.events.shift();
      this.evicted += 1;
    }
  }

  async stop(): Promise<void> {}
}
