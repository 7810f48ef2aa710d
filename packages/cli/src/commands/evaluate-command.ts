import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger, InfermeshError, kafkaConnectionFrom, type EventsConfig } from '@infermesh/shared';
import { DEFAULT_MAX_WEIGHT, DecisionJoiner, evaluatePolicy, parseCandidatePolicy, CANDIDATE_POLICY_FORMS, type JoinedDecisions, type PolicyEvaluation } from '@infermesh/experiments';
import { EVENT_SOURCE_FLAGS, EVENT_SOURCE_HELP, EVENT_SOURCE_OPTIONS } from '../events/event-source-options.js';
import { KafkaEventReader } from '../events/kafka-event-reader.js';
import { readEventDirectories } from '../events/read-event-directories.js';
import { formatEvaluation, TINY_PROPENSITY } from '../evaluation/format-evaluation.js';
import { parseSince } from '../evaluation/parse-since.js';
import { EXIT_FAILURE, EXIT_USAGE, type Command } from './command.js';
import { loadCommandOptions } from './load-command-options.js';

/** Gateway asked for the experiment's variants and the current record's shares when no `--gateway` is given. */
const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';
/** Milliseconds the gateway may take to describe the experiment. */
const GATEWAY_TIMEOUT_MS = 5_000;

const HELP = [
  'Usage: infermesh evaluate --model M --policy POLICY [--from TIME] [--json] [--max-weight W]',
  '                          [--kafka-brokers LIST | --events-dir DIR] [--gateway URL]',
  '',
  'Estimates the average reward per decision a candidate routing policy would have earned, from the',
  "decisions the experiment logged: every prediction.served (with the propensity of its variant) joined",
  'with its feedback.received on the prediction id (replayed events counted once; no feedback is a',
  'reward of 0, as the aggregator counts it). Reports inverse propensity scoring (IPS), self-normalised',
  'IPS and doubly robust estimates with 95 % intervals, beside the naive mean that ignores propensities.',
  '',
  'Options:',
  '  --model <m>          the model whose experiment to evaluate (required)',
  `  --policy <p>         ${CANDIDATE_POLICY_FORMS.join(' | ')} (required):`,
  '                       always one variant, fixed weights, equal shares, or the current record\'s shares',
  '  --from <time>        only decisions since then: an ISO time, or an age such as 30m, 12h, 7d',
  '  --json               print the evaluation as JSON',
  `  --max-weight <w>     clip importance weights above w (default ${DEFAULT_MAX_WEIGHT})`,
  `  --gateway <url>      the gateway that names the experiment's variants, and whose record's shares`,
  `                       --policy record evaluates (default ${DEFAULT_GATEWAY_URL}; record needs it)`,
  '',
  ...EVENT_SOURCE_HELP,
].join('\n');

interface EvaluateRequest {
  model: string;
  policy: string;
  fromMs: number | undefined;
  json: boolean;
  maxWeight: number;
  gatewayUrl: string;
  source: EventsConfig;
}

function parse(argv: readonly string[], env: NodeJS.ProcessEnv, now: number): EvaluateRequest {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...EVENT_SOURCE_FLAGS,
      model: { type: 'string' },
      policy: { type: 'string' },
      from: { type: 'string' },
      json: { type: 'boolean' },
      'max-weight': { type: 'string' },
      gateway: { type: 'string' },
    },
    strict: true,
  });
  if (typeof values.model !== 'string' || typeof values.policy !== 'string') throw new InfermeshError('INVALID_ARGUMENT', '--model and --policy are required');
  const maxWeight = values['max-weight'] === undefined ? DEFAULT_MAX_WEIGHT : Number(values['max-weight']);
  if (!(maxWeight >= 1) || !Number.isFinite(maxWeight)) throw new InfermeshError('INVALID_ARGUMENT', '--max-weight takes a number of at least 1');
  return {
    model: values.model,
    policy: values.policy,
    fromMs: typeof values.from === 'string' ? parseSince(values.from, now) : undefined,
    json: values.json === true,
    maxWeight,
    gatewayUrl: (typeof values.gateway === 'string' ? values.gateway : DEFAULT_GATEWAY_URL).replace(/\/$/, ''),
    source: loadCommandOptions<EventsConfig>(EVENT_SOURCE_OPTIONS, values as Record<string, string | boolean | undefined>, env),
  };
}

/** Reads every event the source holds now into the joiner; returns a description of where they came from. */
async function readDecisions(request: EvaluateRequest, joiner: DecisionJoiner): Promise<string> {
  const logger = createLogger({ service: 'cli', level: 'warn', destination: { write: (line: string) => process.stderr.write(line) } });
  const connection = kafkaConnectionFrom(request.source);
  if (connection !== undefined) {
    const reader = new KafkaEventReader({ connection, topicPrefix: request.source.eventsTopicPrefix, topics: ['predictions', 'feedback'], fromBeginning: true, logger });
    let events = 0;
    await reader.readToEnd((event) => {
      events += 1;
      joiner.add(event.envelope);
    }, new AbortController().signal);
    return `${events} events from Kafka (${connection.brokers.join(',')})`;
  }
  const dir = request.source.eventsDir;
  if (!existsSync(dir)) throw new InfermeshError('INVALID_ARGUMENT', `no event files at ${dir}: give --events-dir, or --kafka-brokers to read the topics`);
  let events = 0;
  const streams = await readEventDirectories(dir, (event) => {
    events += 1;
    joiner.add(event.envelope);
  }, { logger });
  return `${events} events from ${streams} event stream${streams === 1 ? '' : 's'} under ${dir}`;
}

/** The experiment as a gateway serves it now: its live variants and the current record's shares. */
interface ServedExperiment {
  variants: string[];
  shares: Map<string, number>;
}

/**
 * The experiment `GET /v1/experiments/{model}` describes, or undefined when the gateway cannot
 * say (not running, no such experiment) and `required` is false.
 */
async function servedExperiment(gatewayUrl: string, model: string, required: boolean): Promise<ServedExperiment | undefined> {
  let response: Response;
  try {
    response = await fetch(`${gatewayUrl}/v1/experiments/${encodeURIComponent(model)}`, { signal: AbortSignal.timeout(GATEWAY_TIMEOUT_MS) });
  } catch (error) {
    if (!required) return undefined;
    throw new InfermeshError('UPSTREAM_UNAVAILABLE', `--policy record reads the record's shares from the gateway, and ${gatewayUrl} did not answer (${(error as Error).message}); pass --gateway`);
  }
  const body = (await response.json().catch(() => ({}))) as { variants?: { name: string; share: number; role?: string }[]; error?: { message?: string } };
  if (!response.ok) {
    if (!required) return undefined;
    throw new InfermeshError('INVALID_ARGUMENT', `--policy record: the gateway at ${gatewayUrl} answered ${response.status} for model '${model}': ${body.error?.message ?? 'no experiment'}`);
  }
  const live = (body.variants ?? []).filter((variant) => variant.role !== 'shadow');
  return { variants: live.map((variant) => variant.name), shares: new Map(live.map((variant) => [variant.name, variant.share])) };
}

async function evaluate(request: EvaluateRequest): Promise<{ joined: JoinedDecisions; evaluation: PolicyEvaluation; source: string }> {
  const joiner = new DecisionJoiner(request.model, request.fromMs);
  const source = await readDecisions(request, joiner);
  const joined = joiner.result();
  const wantsRecord = request.policy.trim() === 'record';
  // The experiment's variants, so that a variant no logged decision chose is still a policy one may evaluate (to nothing).
  const served = await servedExperiment(request.gatewayUrl, request.model, wantsRecord);
  const variants = [...new Set([...joined.decisions.map((decision) => decision.variant), ...(served?.variants ?? [])])].sort();
  const policy = parseCandidatePolicy(request.policy, { variants, ...(wantsRecord && served !== undefined ? { recordShares: served.shares } : {}) });
  return { joined, evaluation: evaluatePolicy(joined.decisions, policy, { maxWeight: request.maxWeight }), source };
}

/** `infermesh evaluate`: off-policy evaluation of a routing policy from the logged propensities. */
export const evaluateCommand: Command = {
  help: () => HELP,
  async run(argv, env) {
    let request: EvaluateRequest;
    try {
      request = parse(argv, env, Date.now());
    } catch (error) {
      process.stderr.write(`infermesh evaluate: ${(error as Error).message}\n\n${HELP}\n`);
      return EXIT_USAGE;
    }
    try {
      const { joined, evaluation, source } = await evaluate(request);
      if (request.json) {
        const { variantMeans, ...rest } = evaluation;
        const { decisions: _decisions, ...counts } = joined;
        process.stdout.write(`${JSON.stringify({ model: request.model, source, ...counts, ...rest, variantMeans: Object.fromEntries(variantMeans) }, null, 2)}\n`);
      } else {
        process.stdout.write(formatEvaluation(request.model, source, joined, evaluation));
      }
      if (evaluation.clippedWeights > 0) {
        process.stderr.write(`infermesh evaluate: warning: ${evaluation.clippedWeights} importance weights were clipped to ${evaluation.maxWeight}: IPS and DR lean towards 0 (--max-weight)\n`);
      }
      if (evaluation.minPropensity < TINY_PROPENSITY) {
        process.stderr.write(`infermesh evaluate: warning: propensities as small as ${evaluation.minPropensity.toPrecision(2)}: a few decisions carry large weights; trust the intervals less\n`);
      }
      return 0;
    } catch (error) {
      const typed = InfermeshError.from(error);
      process.stderr.write(`infermesh evaluate: [${typed.code}] ${typed.message}\n`);
      return EXIT_FAILURE;
    }
  },
};
