import type { Logger } from 'pino';
import type { EventSink } from '../publisher/event-publisher.js';
import type { KafkaEventSinkOptions } from './kafka-event-sink.js';
import type { KafkaSinkThreadData } from './kafka-sink-thread.js';
import { ThreadedEventSink } from './threaded-event-sink.js';

/** The Kafka sink thread's entry file: built JavaScript, or the TypeScript source when running from it (tests under tsx). */
const KAFKA_SINK_THREAD_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './kafka-sink-thread.ts' : './kafka-sink-thread.js', import.meta.url);

/** What a process's Kafka sink is built from. */
export type KafkaSinkOptions = Pick<KafkaEventSinkOptions, 'connection' | 'topicPrefix' | 'createTopics'> & { logger: Logger };

/**
 * The sink a spool drains into when brokers are configured: a {@link KafkaEventSink} in a thread
 * of its own, so kafkajs's per-record encoding is not spent on the thread that answers requests.
 */
export function createKafkaEventSink(options: KafkaSinkOptions): EventSink {
  const { logger, connection, topicPrefix, createTopics } = options;
  return new ThreadedEventSink<KafkaSinkThreadData>({
    entry: KAFKA_SINK_THREAD_ENTRY,
    data: { logLevel: logger.level as KafkaSinkThreadData['logLevel'], connection, topicPrefix, ...(createTopics === undefined ? {} : { createTopics }) },
    description: `Kafka ${connection.brokers.join(',')}`,
    logger,
  });
}
