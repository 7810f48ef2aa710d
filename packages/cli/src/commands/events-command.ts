import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createLogger,
  EVENT_TYPES,
  InfermeshError,
  kafkaConnectionFrom,
  TOPIC_OF_TYPE,
  type EventEnvelope,
  type EventsConfig,
  type EventTopic,
  type EventType,
} from '@infermesh/shared';
import { describeEvent, modelOf } from '../events/describe-event.js';
import { EVENT_SOURCE_FLAGS, EVENT_SOURCE_HELP, EVENT_SOURCE_OPTIONS } from '../events/event-source-options.js';
import { followEventDirectories } from '../events/follow-event-directories.js';
import { KafkaEventReader } from '../events/kafka-event-reader.js';
import { EXIT_FAILURE, EXIT_USAGE, type Command } from './command.js';
import { loadCommandOptions } from './load-command-options.js';

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
  ...EVENT_SOURCE_HELP,
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
  const { values } = parseArgs({
    args: [...argv],
    options: { ...EVENT_SOURCE_FLAGS, type: { type: 'string' }, model: { type: 'string' }, 'from-beginning': { type: 'boolean' }, json: { type: 'boolean' }, limit: { type: 'string' } },
    strict: true,
  });
  const config = loadCommandOptions<EventsConfig>(EVENT_SOURCE_OPTIONS, values as Record<string, string | boolean | undefined>, env);
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
