import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { InfermeshError } from '../errors/infermesh-error.js';
import { DEFAULT_SPOOL_ROOT, type EventsConfig } from './event-options.js';
import type { EventPublisher } from './publisher/event-publisher.js';
import { parseBrokerList, type KafkaConnectionOptions } from './kafka/kafka-client-config.js';
import { createKafkaEventSink } from './kafka/create-kafka-event-sink.js';
import { NdjsonEventPublisher } from './ndjson/ndjson-event-publisher.js';
import { SpooledEventPublisher } from './spool/spooled-event-publisher.js';


/** What a process hands the publisher factory besides its config. */
export interface EventPublisherDependencies {
  logger: Logger;
  registry: Registry;
  /** CloudEvents `source` of this process, e.g. `urn:infermesh:gateway:host:8080`. */
  source: string;
  now?: () => number;
  /** Uniform in [0, 1), for backoff jitter. */
  random?: () => number;
  /**
   * This process's name among those sharing a working directory: its spool is
   * `.infermesh/spool/<process>` by default and its NDJSON files go to `<events-dir>/<process>`.
   * By default the role in `source` (`urn:infermesh:<role>:…`).
   */
  process?: string;
}

/** The Kafka connection a config describes, or undefined when it names no broker (the embedded NDJSON default). */
export function kafkaConnectionFrom(
  config: Pick<EventsConfig, 'kafkaBrokers' | 'kafkaClientId' | 'kafkaSaslMechanism' | 'kafkaSaslUsername' | 'kafkaSaslPassword' | 'kafkaSsl' | 'kafkaSslCaFile'>,
): KafkaConnectionOptions | undefined {
  const brokers = parseBrokerList(config.kafkaBrokers);
  if (brokers.length === 0) return undefined;
  const connection: KafkaConnectionOptions = { brokers, clientId: config.kafkaClientId };
  if (config.kafkaSaslMechanism !== undefined) {
    if (config.kafkaSaslUsername === undefined || config.kafkaSaslPassword === undefined) {
      throw new InfermeshError('INVALID_CONFIG', '--kafka-sasl-mechanism needs --kafka-sasl-username and --kafka-sasl-password (INFERMESH_KAFKA_SASL_USERNAME, INFERMESH_KAFKA_SASL_PASSWORD)');
    }
    connection.sasl = { mechanism: config.kafkaSaslMechanism, username: config.kafkaSaslUsername, password: config.kafkaSaslPassword };
  }
  if (config.kafkaSsl || config.kafkaSslCaFile !== undefined) connection.ssl = config.kafkaSslCaFile === undefined ? {} : { caFile: config.kafkaSslCaFile };
  return connection;
}

/** The role in a `urn:infermesh:<role>:…` source, else the whole source made safe for a directory name. */
function processNameOf(source: string): string {
  const role = /^urn:infermesh:([^:]+)/.exec(source)?.[1] ?? source;
  return role.replace(/[^a-zA-Z0-9._-]/g, '_');
}

/**
 * Builds the process's publisher from its config: Kafka behind a local spool when brokers are
 * configured, otherwise rotating NDJSON files (the embedded default). Call start() before use.
 */
export function createEventPublisher(config: EventsConfig, dependencies: EventPublisherDependencies): EventPublisher {
  const { logger, registry, source, now } = dependencies;
  const connection = kafkaConnectionFrom(config);
  if (connection === undefined) {
    // One subdirectory per process: the gateway and the workers of one mesh share --events-dir.
    return new NdjsonEventPublisher({ dir: join(config.eventsDir, dependencies.process ?? processNameOf(source)), source, logger, registry, fsync: config.eventsFsync, ...(now ? { now } : {}) });
  }
  const random = dependencies.random ?? Math.random;
  const sink = createKafkaEventSink({
    connection,
    topicPrefix: config.eventsTopicPrefix,
    createTopics: { predictions: config.eventsPredictionsPartitions, feedback: config.eventsFeedbackPartitions, lifecycle: config.eventsLifecyclePartitions },
    logger,
  });
  return new SpooledEventPublisher({
    dir: config.eventsSpoolDir ?? join(DEFAULT_SPOOL_ROOT, dependencies.process ?? processNameOf(source)),
    sink,
    source,
    logger,
    registry,
    random,
    maxBytes: config.eventsSpoolMaxBytes,
    fsync: config.eventsFsync,
    ...(now ? { now } : {}),
  });
}
