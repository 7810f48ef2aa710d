import { EVENT_OPTIONS, InfermeshError, kafkaConnectionFrom, SHARED_OPTIONS, type EventsConfig, type KafkaConnectionOptions, type LOG_LEVELS, type OptionSpec } from '@infermesh/shared';

/** The validated configuration of one aggregator process. */
export interface AggregatorConfig
  extends Pick<
    EventsConfig,
    'kafkaClientId' | 'eventsTopicPrefix' | 'kafkaSaslMechanism' | 'kafkaSaslUsername' | 'kafkaSaslPassword' | 'kafkaSsl' | 'kafkaSslCaFile' | 'eventsSpoolDir' | 'eventsSpoolMaxBytes' | 'eventsFsync' | 'eventsLifecyclePartitions'
  > {
  kafkaBrokers: string;
  consul: string;
  consulToken?: string;
  kvPrefix: string;
  groupId: string;
  publishIntervalMs: number;
  feedbackTtlSeconds: number;
  trialDedupeSeconds: number;
  dedupeMaxIds: number;
  metricsHost: string;
  metricsPort: number;
  logLevel: (typeof LOG_LEVELS)[number];
  shutdownGraceMs: number;
}

/** Kafka consumer group of the aggregator by default: instances sharing it share the partitions. */
export const DEFAULT_AGGREGATOR_GROUP_ID = 'infermesh-aggregator';
/** Milliseconds between two rounds of state writes and record publications. */
export const DEFAULT_PUBLISH_INTERVAL_MS = 2_000;
/**
 * Seconds of event time a partition remembers trial prediction ids for. A trial is repeated
 * only when a gateway's spool resends a batch after a crash; the copy carries the original's
 * time, so this bounds how long a gateway may stay down before its resent batch is counted twice.
 */
export const DEFAULT_TRIAL_DEDUPE_SECONDS = 900;
/** Most prediction ids one partition remembers per kind (trials, rewards); about 100 bytes each. */
export const DEFAULT_DEDUPE_MAX_IDS = 100_000;
/** Port of `/metrics` and `/healthz` by default (the worker's is 8002). */
export const DEFAULT_AGGREGATOR_METRICS_PORT = 8003;
/** Milliseconds a stopping aggregator may spend on its last state write and record. */
export const DEFAULT_AGGREGATOR_SHUTDOWN_GRACE_MS = 10_000;
/** Consumer group ids become KV path segments. */
const GROUP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const REQUIRED = new Set(['kafkaBrokers', 'consul']);
const DESCRIPTIONS: Record<string, string> = {
  kafkaBrokers: 'Kafka bootstrap servers, "host:port,host:port", holding the prediction and feedback topics',
  consul: 'Consul HTTP address: experiments are read from KV, partition states and records written there',
  eventsTopicPrefix: 'Prefix of the event topics: <prefix>predictions and <prefix>feedback are read, conclusions and guardrail trips go to <prefix>lifecycle',
  feedbackTtlSeconds: 'Seconds a feedback token stays valid (as on the gateways): how long rewards are deduplicated by prediction id',
};

/** An option defined once for several processes (same flag, variable and default), with the aggregator's wording and requirements. */
function reused(specs: readonly OptionSpec[], key: string): OptionSpec {
  const spec = specs.find((candidate) => candidate.key === key);
  if (spec === undefined) throw new Error(`no option '${key}' to reuse`);
  return { ...spec, description: DESCRIPTIONS[key] ?? spec.description, ...(REQUIRED.has(key) ? { required: true } : {}) };
}

/** The options shared with the gateways (shared/config). */
const SHARED: readonly OptionSpec[] = Object.values(SHARED_OPTIONS);

/** The Kafka connection options of the event publisher: read the same way by every process. */
const KAFKA_KEYS = ['kafkaBrokers', 'kafkaClientId', 'eventsTopicPrefix', 'kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword', 'kafkaSsl', 'kafkaSslCaFile'];

/** Every option of `infermesh aggregate`; the README's reference table lists the same. */
export const AGGREGATOR_OPTIONS: readonly OptionSpec[] = [
  // The registry options of the gateway: the aggregator reads and writes the same KV.
  ...['consul', 'consulToken', 'kvPrefix'].map((key) => reused(SHARED, key)),
  ...KAFKA_KEYS.map((key) => reused(EVENT_OPTIONS, key)),
  // The aggregator publishes lifecycle events (conclusions, guardrail trips) through a spool like every publisher.
  ...['eventsSpoolDir', 'eventsSpoolMaxBytes', 'eventsFsync', 'eventsLifecyclePartitions'].map((key) => reused(EVENT_OPTIONS, key)),
  { key: 'groupId', flag: 'group-id', env: 'INFERMESH_AGGREGATOR_GROUP_ID', type: 'string', default: DEFAULT_AGGREGATOR_GROUP_ID, description: 'Kafka consumer group; instances with the same one share the partitions (it also names their state in KV)' },
  { key: 'publishIntervalMs', flag: 'publish-interval-ms', env: 'INFERMESH_AGGREGATOR_PUBLISH_INTERVAL_MS', type: 'integer', minimum: 100, default: DEFAULT_PUBLISH_INTERVAL_MS, description: 'Milliseconds between two writes of the partition states and of every experiment record' },
  // The gateways' token TTL, under the same flag and variable: rewards stay deduplicated as long as a token can be redeemed.
  reused(SHARED, 'feedbackTtlSeconds'),
  { key: 'trialDedupeSeconds', flag: 'trial-dedupe-seconds', env: 'INFERMESH_AGGREGATOR_TRIAL_DEDUPE_SECONDS', type: 'integer', minimum: 1, default: DEFAULT_TRIAL_DEDUPE_SECONDS, description: 'Seconds of event time trials are deduplicated by prediction id (a resent spool batch repeats them)' },
  { key: 'dedupeMaxIds', flag: 'dedupe-max-ids', env: 'INFERMESH_AGGREGATOR_DEDUPE_MAX_IDS', type: 'integer', minimum: 1_000, default: DEFAULT_DEDUPE_MAX_IDS, description: 'Most prediction ids remembered per partition and kind; beyond it the oldest are evicted and counted' },
  { key: 'metricsHost', flag: 'metrics-host', env: 'INFERMESH_AGGREGATOR_METRICS_HOST', type: 'string', default: '0.0.0.0', description: 'Address /metrics and /healthz bind' },
  { key: 'metricsPort', flag: 'metrics-port', env: 'INFERMESH_AGGREGATOR_METRICS_PORT', type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_AGGREGATOR_METRICS_PORT, description: '/metrics and /healthz port (0 = any free port)' },
  reused(SHARED, 'logLevel'),
  { key: 'shutdownGraceMs', flag: 'shutdown-grace-ms', env: 'INFERMESH_SHUTDOWN_GRACE_MS', type: 'integer', minimum: 0, default: DEFAULT_AGGREGATOR_SHUTDOWN_GRACE_MS, description: 'Milliseconds after SIGTERM for the last state write and record before leaving the group' },
];

/** Throws INVALID_CONFIG when options contradict each other or a value cannot work (before anything starts). */
export function checkAggregatorConfig(config: AggregatorConfig): KafkaConnectionOptions {
  if (!/^https?:\/\/|^[^/:]+:\d+$/.test(config.consul)) {
    throw new InfermeshError('INVALID_CONFIG', `--consul (CONSUL_HTTP_ADDR) must look like http://host:port, got '${config.consul}'`);
  }
  if (!GROUP_ID_PATTERN.test(config.groupId)) {
    throw new InfermeshError('INVALID_CONFIG', `--group-id (INFERMESH_AGGREGATOR_GROUP_ID) must be letters, digits, '.', '_' and '-', got '${config.groupId}'`);
  }
  if (config.eventsTopicPrefix !== '' && !/^[A-Za-z0-9._-]+$/.test(config.eventsTopicPrefix)) {
    throw new InfermeshError('INVALID_CONFIG', `--events-topic-prefix (INFERMESH_EVENTS_TOPIC_PREFIX) may hold only letters, digits, '.', '_' and '-', got '${config.eventsTopicPrefix}'`);
  }
  const connection = kafkaConnectionFrom(config);
  if (connection === undefined) throw new InfermeshError('INVALID_CONFIG', '--kafka-brokers (KAFKA_BROKERS) names no broker');
  return connection;
}
