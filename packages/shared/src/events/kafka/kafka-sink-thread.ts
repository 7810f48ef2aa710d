/**
 * Entry of the thread that sends spooled events to Kafka: kafkajs encodes every record in
 * JavaScript (tens of microseconds per event), which would otherwise take that time from the
 * thread answering predictions. The spool, its sender and their metrics stay with the owner.
 */
import { workerData } from 'node:worker_threads';
import { KafkaEventSink, type KafkaEventSinkOptions } from './kafka-event-sink.js';
import { serveSinkInThread, type SinkThreadData } from './serve-sink-in-thread.js';

/** What the owner passes to the Kafka sink thread. */
export type KafkaSinkThreadData = SinkThreadData & Pick<KafkaEventSinkOptions, 'connection' | 'topicPrefix' | 'createTopics'>;

const { logLevel, connection, topicPrefix, createTopics } = workerData as KafkaSinkThreadData;
// This thread's own wiring: its random source cannot cross threads, so it is made here.
await serveSinkInThread((logger) => new KafkaEventSink({ connection, topicPrefix, ...(createTopics === undefined ? {} : { createTopics }), logger, random: Math.random }), logLevel);
