import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka } from 'kafkajs';
import { EVENT_TOPICS, kafkaClientConfig, type EventEnvelope, type EventTopic, type KafkaConnectionOptions, type Logger } from '@infermesh/shared';

/** Milliseconds between two looks for event topics that do not exist yet. */
export const TOPIC_WAIT_POLL_MS = 2_000;

/** Options of a {@link KafkaEventReader}. */
export interface KafkaEventReaderOptions {
  connection: KafkaConnectionOptions;
  topicPrefix: string;
  /** Topics to read (without prefix); all three by default. */
  topics?: readonly EventTopic[];
  /** Read what the topics hold already; otherwise only events produced from now on. */
  fromBeginning: boolean;
  logger: Logger;
  /** Told once when the topics do not exist yet (e.g. to print a note). */
  onWaitingForTopics?(topics: string[]): void;
}

/** An event read from Kafka, with where it was. */
export interface KafkaReadEvent {
  envelope: EventEnvelope;
  topic: string;
  partition: number;
  offset: string;
  key: string | undefined;
  headers: Record<string, string>;
}

/**
 * Reads the event topics with a consumer group of its own (a fresh random id, no committed
 * offsets), so it never takes partitions from the aggregator or another reader.
 */
export class KafkaEventReader {
  constructor(private readonly options: KafkaEventReaderOptions) {}

  /** Calls `onEvent` for every event until `signal` aborts; messages that are not JSON are reported and skipped. */
  async follow(onEvent: (event: KafkaReadEvent) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    const logger = this.options.logger.child({ module: 'kafka-event-reader' });
    const kafka = new Kafka(kafkaClientConfig(this.options.connection, logger));
    const wanted = (this.options.topics ?? EVENT_TOPICS).map((topic) => `${this.options.topicPrefix}${topic}`);
    const topics = await this.existingTopics(kafka, wanted, signal);
    if (topics.length === 0) return;
    const consumer = kafka.consumer({ groupId: `infermesh-events-tail-${randomBytes(6).toString('hex')}`, allowAutoTopicCreation: false });
    const stopped = new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      // kafkajs restarts the consumer after retriable failures; after any other it stops silently, so say so.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error);
      });
    });
    // Handled here too, in case it rejects before it is awaited below.
    void stopped.catch(() => undefined);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          if (signal.aborted) return;
          const text = message.value?.toString('utf8') ?? '';
          let envelope: EventEnvelope;
          try {
            envelope = JSON.parse(text) as EventEnvelope;
          } catch {
            logger.warn({ topic, partition, offset: message.offset }, 'skipping a message that is not JSON');
            return;
          }
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
          await onEvent({ envelope, topic, partition, offset: message.offset, key: message.key?.toString('utf8'), headers });
        },
      });
      await stopped;
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }

  /** The wanted topics that exist, waiting until at least one does. */
  private async existingTopics(kafka: Kafka, wanted: string[], signal: AbortSignal): Promise<string[]> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      let told = false;
      while (!signal.aborted) {
        const existing = new Set(await admin.listTopics());
        const found = wanted.filter((topic) => existing.has(topic));
        if (found.length > 0) return found;
        if (!told) this.options.onWaitingForTopics?.(wanted);
        told = true;
        await sleep(TOPIC_WAIT_POLL_MS, undefined, { signal }).catch(() => undefined);
      }
      return [];
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
