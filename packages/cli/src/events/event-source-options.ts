import { DEFAULT_EVENTS_DIR, DEFAULT_KAFKA_CLIENT_ID, DEFAULT_TOPIC_PREFIX, EVENT_OPTIONS, KAFKA_SASL_MECHANISMS } from '@infermesh/shared';

/** The event options that say where to read events from (the rest are about publishing them). */
const SOURCE_OPTION_KEYS = ['kafkaBrokers', 'kafkaClientId', 'eventsTopicPrefix', 'eventsDir', 'kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword', 'kafkaSsl', 'kafkaSslCaFile'];

/** Options of commands that read events: Kafka when brokers are given, else the NDJSON event files. */
export const EVENT_SOURCE_OPTIONS = EVENT_OPTIONS.filter((spec) => SOURCE_OPTION_KEYS.includes(spec.key));

/** parseArgs declarations of {@link EVENT_SOURCE_OPTIONS}. */
export const EVENT_SOURCE_FLAGS = Object.fromEntries(
  EVENT_SOURCE_OPTIONS.map((spec) => [spec.flag, { type: spec.type === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
);

/** The help lines of {@link EVENT_SOURCE_OPTIONS}. */
export const EVENT_SOURCE_HELP = [
  'Where to read (flags, else environment):',
  '  --kafka-brokers <list>   Kafka bootstrap servers, host:port,... [KAFKA_BROKERS]; none: the NDJSON files',
  `  --events-dir <dir>       NDJSON event files [INFERMESH_EVENTS_DIR] (default ${DEFAULT_EVENTS_DIR})`,
  `  --events-topic-prefix <p> topic prefix [INFERMESH_EVENTS_TOPIC_PREFIX] (default ${DEFAULT_TOPIC_PREFIX})`,
  `  --kafka-client-id <id>   [INFERMESH_KAFKA_CLIENT_ID] (default ${DEFAULT_KAFKA_CLIENT_ID})`,
  `  --kafka-sasl-mechanism <m>  ${KAFKA_SASL_MECHANISMS.join('|')}, with --kafka-sasl-username <u> and`,
  '                           --kafka-sasl-password <p> [INFERMESH_KAFKA_SASL_MECHANISM, ..._USERNAME, ..._PASSWORD]',
  '  --kafka-ssl              TLS to the brokers; --kafka-ssl-ca-file <pem> adds a CA [INFERMESH_KAFKA_SSL, ..._CA_FILE]',
];
