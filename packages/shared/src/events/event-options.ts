import type { OptionSpec } from '../config/option-spec.js';
import { DEFAULT_TOPIC_PREFIX } from './contract/event-types.js';
import { KAFKA_SASL_MECHANISMS } from './kafka/kafka-client-config.js';
import { DEFAULT_TOPIC_PARTITIONS } from './kafka/kafka-event-sink.js';
import { DEFAULT_SPOOL_MAX_BYTES } from './spool/spooled-event-publisher.js';

/** kafkajs client id by default. */
export const DEFAULT_KAFKA_CLIENT_ID = 'infermesh';
/** Directory of the spools by default; each process gets `<this>/<process>`. */
export const DEFAULT_SPOOL_ROOT = '.infermesh/spool';
/** Directory of the NDJSON event files by default (when no Kafka brokers are configured). */
export const DEFAULT_EVENTS_DIR = '.infermesh/events';
/** Most partitions a created topic may be given. */
const MAX_TOPIC_PARTITIONS = 10_000;

/** The event options of a process's validated config (the gateway's and the worker's include them). */
export interface EventsConfig {
  /** Comma list `host:port,...`; unset or empty: NDJSON files under `eventsDir`. */
  kafkaBrokers?: string;
  kafkaClientId: string;
  eventsTopicPrefix: string;
  /** Unset: `.infermesh/spool/<process>`. */
  eventsSpoolDir?: string;
  eventsSpoolMaxBytes: number;
  eventsFsync: boolean;
  eventsDir: string;
  kafkaSaslMechanism?: (typeof KAFKA_SASL_MECHANISMS)[number];
  kafkaSaslUsername?: string;
  kafkaSaslPassword?: string;
  kafkaSsl: boolean;
  kafkaSslCaFile?: string;
  eventsPredictionsPartitions: number;
  eventsFeedbackPartitions: number;
  eventsLifecyclePartitions: number;
}

/** Every event option, for the gateway's and worker's option lists, `--help` and the README table. */
export const EVENT_OPTIONS: readonly OptionSpec[] = [
  { key: 'kafkaBrokers', flag: 'kafka-brokers', env: 'KAFKA_BROKERS', type: 'string', description: 'Kafka bootstrap servers, "host:port,host:port"; events go to Kafka through a local spool. Unset: NDJSON files in --events-dir' },
  { key: 'kafkaClientId', flag: 'kafka-client-id', env: 'INFERMESH_KAFKA_CLIENT_ID', type: 'string', default: DEFAULT_KAFKA_CLIENT_ID, description: 'Kafka client id' },
  { key: 'eventsTopicPrefix', flag: 'events-topic-prefix', env: 'INFERMESH_EVENTS_TOPIC_PREFIX', type: 'string', default: DEFAULT_TOPIC_PREFIX, description: 'Prefix of the event topics (<prefix>predictions, <prefix>feedback, <prefix>lifecycle)' },
  { key: 'eventsSpoolDir', flag: 'events-spool-dir', env: 'INFERMESH_EVENTS_SPOOL_DIR', type: 'string', description: `Spool of events not yet acknowledged by Kafka, one per process (default ${DEFAULT_SPOOL_ROOT}/<process>)` },
  { key: 'eventsSpoolMaxBytes', flag: 'events-spool-max-bytes', env: 'INFERMESH_EVENTS_SPOOL_MAX_BYTES', type: 'integer', minimum: 1024 * 1024, default: DEFAULT_SPOOL_MAX_BYTES, description: 'Largest spool, bytes; beyond it new events are dropped, counted and logged' },
  { key: 'eventsFsync', flag: 'events-fsync', env: 'INFERMESH_EVENTS_FSYNC', type: 'boolean', default: false, description: 'Flush every spool write to disk: survives power loss, not only a killed process' },
  { key: 'eventsDir', flag: 'events-dir', env: 'INFERMESH_EVENTS_DIR', type: 'string', default: DEFAULT_EVENTS_DIR, description: 'Where the NDJSON event files go when no Kafka brokers are configured: one subdirectory per process (gateway, worker-<port>); `infermesh events tail` reads them all' },
  { key: 'kafkaSaslMechanism', flag: 'kafka-sasl-mechanism', env: 'INFERMESH_KAFKA_SASL_MECHANISM', type: 'string', values: KAFKA_SASL_MECHANISMS, description: 'SASL mechanism' },
  { key: 'kafkaSaslUsername', flag: 'kafka-sasl-username', env: 'INFERMESH_KAFKA_SASL_USERNAME', type: 'string', description: 'SASL user name' },
  { key: 'kafkaSaslPassword', flag: 'kafka-sasl-password', env: 'INFERMESH_KAFKA_SASL_PASSWORD', type: 'string', description: 'SASL password' },
  { key: 'kafkaSsl', flag: 'kafka-ssl', env: 'INFERMESH_KAFKA_SSL', type: 'boolean', default: false, description: 'TLS to the Kafka brokers' },
  { key: 'kafkaSslCaFile', flag: 'kafka-ssl-ca-file', env: 'INFERMESH_KAFKA_SSL_CA_FILE', type: 'string', description: 'CA bundle (PEM) trusted for the brokers\' certificates; implies --kafka-ssl' },
  { key: 'eventsPredictionsPartitions', flag: 'events-predictions-partitions', env: 'INFERMESH_EVENTS_PREDICTIONS_PARTITIONS', type: 'integer', minimum: 1, maximum: MAX_TOPIC_PARTITIONS, default: DEFAULT_TOPIC_PARTITIONS.predictions, description: 'Partitions of the predictions topic when it is created' },
  { key: 'eventsFeedbackPartitions', flag: 'events-feedback-partitions', env: 'INFERMESH_EVENTS_FEEDBACK_PARTITIONS', type: 'integer', minimum: 1, maximum: MAX_TOPIC_PARTITIONS, default: DEFAULT_TOPIC_PARTITIONS.feedback, description: 'Partitions of the feedback topic when it is created' },
  { key: 'eventsLifecyclePartitions', flag: 'events-lifecycle-partitions', env: 'INFERMESH_EVENTS_LIFECYCLE_PARTITIONS', type: 'integer', minimum: 1, maximum: MAX_TOPIC_PARTITIONS, default: DEFAULT_TOPIC_PARTITIONS.lifecycle, description: 'Partitions of the lifecycle topic when it is created' },
];
