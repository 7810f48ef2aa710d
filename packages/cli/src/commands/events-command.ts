import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createLogger,
  DEFAULT_EVENTS_DIR,
  DEFAULT_KAFKA_CLIENT_ID,
  DEFAULT_TOPIC_PREFIX,
  EVENT_OPTIONS,
  EVENT_TYPES,
  InfermeshError,
  KAFKA_SASL_MECHANISMS,
  kafkaConnectionFrom,
  loadConfig,
  TOPIC_OF_TYPE,
  type EventEnvelope,
  type EventsConfig,
  type EventTopic,
  type EventType,
} from '@infermesh/shared';
import { describeEvent, modelOf } from '../events/describe-event.js';
import { followEventDirectories } from '../events/follow-event-directories.js';
import { KafkaEventReader } from '../events/kafka-event-reader.js';
import { EXIT_FAILURE, EXIT_USAGE, type Command } from './command.js';

/** The event options that say where to read from (the rest are about publishing). */
const SOURCE_OPTION_KEYS = ['kafkaBrokers', 'kafkaClientId', 'eventsTopicPrefix', 'eventsDir', 'kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword', 'kafkaSsl', 'kafkaSslCaFile'];
const SOURCE_OPTIONS = EVENT_OPTIONS.filter((spec) => SOURCE_OPTION_KEYS.includes(spec.key));

const HELP = [
  'Usage: infermesh events tail [--type T[,T]] [--model M] [--from-beginning] [--json] [--limit N]',
  '                             [--kafka-brokers LIST | --events-dir DIR] [--events-topic-prefix P]',
  '',
  'Prints business events as they arrive, one line each (time, type, model, variant@version, ids,',
  'latency, propensity, reward, ...), from Kafka when brokers are given (KAFKA_BROKERS), else from the',
  'NDJSON event files of the embedded mode. Stops on Ctrl-C, or after --limit events.',
  '',
  'Options:',
  '  --type <t>               only these types, comma-separated, with or without "infermesh.":',
  `                           ${EVENT_TYPES.map((type) => type.replace(/^infermesh\./, '')).join(', ')}`,
  '  --model <m>              only events about this model',
  '  --from-beginning         everything the topics (or kept files) hold, not only new events',
  '  --json                   print each raw CloudEvents envelope as one JSON line',
  '  --limit <n>              exit after n events',
  '',
  'Where to read (flags, else environment):',
  '  --kafka-brokers <list>   Kafka bootstrap servers, host:port,... [KAFKA_BROKERS]; none: the NDJSON files',
  `  --events-dir <dir>       NDJSON event files [INFERMESH_EVENTS_DIR] (default ${DEFAULT_EVENTS_DIR})`,
  `  --events-topic-prefix <p> topic prefix [INFERMESH_EVENTS_TOPIC_PREFIX] (default ${DEFAULT_TOPIC_PREFIX})`,
  `  --kafka-client-id <id>   [INFERMESH_KAFKA_CLIENT_ID] (default ${DEFAULT_KAFKA_CLIENT_ID})`,
  `  --kafka-sasl-mechanism <m>  ${KAFKA_SASL_MECHANISMS.join('|')}, with --kafka-sasl-username <u> and`,
  '                           --kafka-sasl-password <p> [INFERMESH_KAFKA_SASL_MECHANISM, ..._USERNAME, ..._PASSWORD]',
  '  --kafka-ssl              TLS to the brokers; --kafka-ssl-ca-file <pem> adds a CA [INFERMESH_KAFKA_SSL, ..._CA_FILE]',
].join('\n');

interface TailRequest {
  types: Set<EventType> | undefined;
  model: string | undefined;
  fromBeginning: boolean;
  json: boolean;
  limit: number;
  config: EventsConfig;
}

function parse(argv: readonly string[], env: NodeJS.ProcessEnv): TailRequest {
  const sourceFlags = Object.fromEntries(SOURCE_OPTIONS.map((spec) => [spec.flag, { type: spec.type === 'boolean' ? ('boolean' as const) : ('string' as const) }]));
  const { values } = parseArgs({
    args: [...argv],
    options: { ...sourceFlags, type: { type: 'string' }, model: { type: 'string' }, 'from-beginning': { type: 'boolean' }, json: { type: 'boolean' }, limit: { type: 'string' } },
    strict: true,
  });
  const flags = values as Record<string, string | boolean | undefined>;
  const overrides = Object.fromEntries(SOURCE_OPTIONS.filter((spec) => flags[spec.flag] !== undefined).map((spec) => [spec.key, flags[spec.flag]]));
  const config = loadConfig<EventsConfig>(SOURCE_OPTIONS, { env, overrides });
  let types: Set<EventType> | undefined;
  if (typeof values.type === 'string') {
    types = new Set();
    for (const name of values.type.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
      const type = EVENT_TYPES.find((candidate) => candidate === name || candidate === `infermesh.${name}`);
      if (type === undefined) throw new InfermeshError('INVALID_ARGUMENT', `unknown event type '${name}'; one of ${EVENT_TYPES.join(', ')}`);
      types.add(type);
    }
  }
  const limit = values.limit === undefined ? Number.POSITIVE_INFINITY : Number(values.limit);
  if (!Number.isInteger(limit) && limit !== Number.POSITIVE_INFINITY) throw new InfermeshError('INVALID_ARGUMENT', '--limit must be a whole number');
  if (limit < 1) throw new InfermeshError('INVALID_ARGUMENT', '--limit must be at least 1');
  return { types, model: values.model as string | undefined, fromBeginning: values['from-beginning'] === true, json: values.json === true, limit, config };
}

async function tail(request: TailRequest): Promise<void> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let printed = 0;
  const print = (envelope: EventEnvelope) => {
    if (abort.signal.aborted) return;
    if (request.types !== undefined && !request.types.has(envelope.type)) return;
    if (request.model !== undefined && modelOf(envelope) !== request.model) return;
    process.stdout.write(`${request.json ? JSON.stringify(envelope) : describeEvent(envelope)}\n`);
    printed += 1;
    if (printed >= request.limit) abort.abort();
  };
  const logger = createLogger({ service: 'cli', level: 'warn', destination: { write: (line: string) => process.stderr.write(line) } });
  try {
    const connection = kafkaConnectionFrom(request.config);
    if (connection !== undefined) {
      const topics = request.types === undefined ? undefined : [...new Set([...request.types].map((type): EventTopic => TOPIC_OF_TYPE[type]))];
      const reader = new KafkaEventReader({
        connection,
        topicPrefix: request.config.eventsTopicPrefix,
        ...(topics === undefined ? {} : { topics }),
        fromBeginning: request.fromBeginning,
        logger,
        onWaitingForTopics: (names) => process.stderr.write(`infermesh events: waiting for topics ${names.join(', ')} to exist\n`),
      });
      await reader.follow((event) => print(event.envelope), abort.signal);
    } else {
      const dir = request.config.eventsDir;
      if (!existsSync(dir)) process.stderr.write(`infermesh events: ${dir} does not exist yet; waiting for events (no --kafka-brokers given)\n`);
      await followEventDirectories(dir, (event) => print(event.envelope), abort.signal, { fromBeginning: request.fromBeginning, logger });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `infermesh events tail`: follow business events from Kafka or the NDJSON event files. */
export const eventsCommand: Command = {
  help: () => HELP,
  async run(argv, env) {
    const [subcommand, ...rest] = argv;
    if (subcommand !== 'tail') {
      process.stderr.write(`infermesh events: unknown subcommand '${subcommand ?? ''}'\n\n${HELP}\n`);
      return EXIT_USAGE;
    }
    let request: TailRequest;
    try {
      request = parse(rest, env);
    } catch (error) {
      process.stderr.write(`infermesh events tail: ${(error as Error).message}\n`);
      return EXIT_USAGE;
    }
    try {
      await tail(request);
      return 0;
    } catch (error) {
      const typed = InfermeshError.from(error);
      process.stderr.write(`infermesh events tail: [${typed.code}] ${typed.message}\n`);
      return EXIT_FAILURE;
    }
  },
};
