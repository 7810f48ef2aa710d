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
    await this.consume(onEvent, signal, this.options.fromBeginning, false);
  }

  /**
   * Calls `onEvent` for every event the topics hold now, from their beginning, and returns once
   * each partition has been read up to the end it had when reading began (or `signal` aborts).
   * Topics that do not exist yet hold nothing: it returns at once instead of waiting for them.
   */
  async readToEnd(onEvent: (event: KafkaReadEvent) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    await this.consume(onEvent, signal, true, true);
  }

  private async consume(onEvent: (event: KafkaReadEvent) => void | Promise<void>, signal: AbortSignal, fromBeginning: boolean, toEnd: boolean): Promise<void> {
    const logger = this.options.logger.child({ module: 'kafka-event-reader' });
    const kafka = new Kafka(kafkaClientConfig(this.options.connection, logger));
    const wanted = (this.options.topics ?? EVENT_TOPICS).map((topic) => `${this.options.topicPrefix}${topic}`);
    const topics = toEnd ? await this.presentTopics(kafka, wanted) : await this.existingTopics(kafka, wanted, signal);
    if (topics.length === 0) return;
    // Per `topic/partition`, the offset of the last message there was when reading began.
    const remaining = toEnd ? await this.lastOffsets(kafka, topics) : undefined;
    if (remaining !== undefined && remaining.size === 0) return;
    const finished = new AbortController();
    const consumer = kafka.consumer({ groupId: `infermesh-events-tail-${randomBytes(6).toString('hex')}`, allowAutoTopicCreation: false });
    const stopped = new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      finished.signal.addEventListener('abort', () => resolve(), { once: true });
      // kafkajs restarts the consumer after retriable failures; after any other it stops silently, so say so.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error);
      });
    });
    // Handled here too, in case it rejects before it is awaited below.
    void stopped.catch(() => undefined);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          if (signal.aborted || finished.signal.aborted) return;
          const text = message.value?.toString('utf8') ?? '';
          let envelope: EventEnvelope | undefined;
          try {
            envelope = JSON.parse(text) as EventEnvelope;
          } catch {
            logger.warn({ topic, partition, offset: message.offset }, 'skipping a message that is not JSON');
          }
          if (envelope !== undefined) {
            const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
            await onEvent({ envelope, topic, partition, offset: message.offset, key: message.key?.toString('utf8'), headers });
          }
          if (remaining !== undefined) {
            const key = `${topic}/${partition}`;
            const last = remaining.get(key);
            if (last !== undefined && BigInt(message.offset) >= last) remaining.delete(key);
            if (remaining.size === 0) finished.abort();
          }
        },
      });
      await stopped;
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }

  /** The offset of each non-empty partition's last message, by `topic/partition`. */
  private async lastOffsets(kafka: Kafka, topics: readonly string[]): Promise<Map<string, bigint>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const last = new Map<string, bigint>();
      for (const topic of topics) {
        for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
          if (BigInt(high) > BigInt(low)) last.set(`${topic}/${partition}`, BigInt(high) - 1n);
        }
      }
      return last;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** The wanted topics that exist now. */
  private async presentTopics(kafka: Kafka, wanted: string[]): Promise<string[]> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      return wanted.filter((topic) => existing.has(topic));
    } finally {
      await admin.disconnect().catch(() => undefined);
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
