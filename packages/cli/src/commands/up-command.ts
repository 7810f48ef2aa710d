import { parseArgs } from 'node:util';
import { EVENT_OPTIONS, ModelRegistry, openRegistryStore, type OptionSpec } from '@infermesh/shared';
import { startChildServer, stopChildServers, type ChildServer } from '../up/child-servers.js';
import { seedDemoRegistry } from '../up/demo-registry.js';
import { startLiveSummary } from '../up/live-summary.js';
import { DEFAULT_UP_AGGREGATOR_METRICS_PORT, DEFAULT_UP_GATEWAY_PORT, DEFAULT_UP_WORKER_PORT, DEMO_MODEL, planMesh } from '../up/mesh-plan.js';
import { meshSecrets } from '../up/mesh-secrets.js';
import { welcomeText } from '../up/welcome.js';
import { EXIT_FAILURE, EXIT_USAGE, type Command } from './command.js';
import { loadCommandOptions } from './load-command-options.js';
import { REGISTRY_OPTIONS } from './registry-options.js';

/** Working directory of `infermesh up` by default. */
export const DEFAULT_UP_DIR = '.infermesh/up';

const HELP = [
  'Usage: infermesh up [--dir DIR] [--port 8080] [--worker-port 8001] [--consul URL --kafka-brokers LIST [--aggregator-port 8003]]',
  '',
  'Runs a whole mesh on this machine: a gateway, two worker variants (a, b) of a demo model generated on',
  'first run, a Thompson experiment between them with its aggregator, and the business events.',
  'Without --consul and --kafka-brokers nothing else is needed: a file registry, NDJSON events and the',
  "gateway's own aggregator, all under --dir. With both, the registry is Consul KV, workers register in",
  'its catalog, events go to Kafka and an `infermesh aggregate` process publishes the records.',
  'It prints commands to try, then one line about the experiment while it runs. Ctrl-C stops it.',
  '',
  'Options:',
  `  --dir <dir>            working directory: registry, models, events, logs (default ${DEFAULT_UP_DIR})`,
  `  --port <port>          gateway HTTP port (default ${DEFAULT_UP_GATEWAY_PORT})`,
  `  --worker-port <port>   gRPC port of worker a; b uses port + 10; metrics ports are + 1 (default ${DEFAULT_UP_WORKER_PORT})`,
  '  --consul <url>         run on this Consul [CONSUL_HTTP_ADDR]',
  '  --kafka-brokers <list> run on this Kafka [KAFKA_BROKERS]',
  `  --aggregator-port <port> metrics port of the aggregator, with --consul and --kafka-brokers (default ${DEFAULT_UP_AGGREGATOR_METRICS_PORT})`,
].join('\n');

/** The options of `up` that also come from the environment: the infrastructure it runs on (its children read the same variables). */
const INFRASTRUCTURE_OPTIONS: readonly OptionSpec[] = [
  ...REGISTRY_OPTIONS.filter((spec) => spec.key !== 'registryDir'),
  ...EVENT_OPTIONS.filter((spec) => spec.key === 'kafkaBrokers'),
];

/** What {@link INFRASTRUCTURE_OPTIONS} hold once validated. */
interface Infrastructure {
  consul?: string;
  consulToken?: string;
  kvPrefix: string;
  kafkaBrokers?: string;
}

/** `infermesh up`: the whole mesh in one command (what `npm start` runs). */
export const upCommand: Command = {
  help: () => HELP,
  async run(argv, env) {
    let values: { dir: string; port: string; 'worker-port': string; 'aggregator-port': string; consul?: string | undefined; 'kafka-brokers'?: string | undefined };
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: {
          dir: { type: 'string', default: DEFAULT_UP_DIR },
          port: { type: 'string', default: String(DEFAULT_UP_GATEWAY_PORT) },
          'worker-port': { type: 'string', default: String(DEFAULT_UP_WORKER_PORT) },
          'aggregator-port': { type: 'string', default: String(DEFAULT_UP_AGGREGATOR_METRICS_PORT) },
          consul: { type: 'string' },
          'kafka-brokers': { type: 'string' },
        },
      }));
    } catch (error) {
      process.stderr.write(`infermesh up: ${(error as Error).message}\n\n${HELP}\n`);
      return EXIT_USAGE;
    }
    let infrastructure: Infrastructure;
    try {
      infrastructure = loadCommandOptions<Infrastructure>(INFRASTRUCTURE_OPTIONS, values, env);
    } catch (error) {
      process.stderr.write(`infermesh up: ${(error as Error).message}\n\n${HELP}\n`);
      return EXIT_USAGE;
    }
    const { consul, kafkaBrokers } = infrastructure;
    const gatewayPort = Number(values.port);
    const workerPort = Number(values['worker-port']);
    const aggregatorPort = Number(values['aggregator-port']);
    if (![gatewayPort, workerPort, aggregatorPort].every(Number.isInteger) || (consul === undefined) !== (kafkaBrokers === undefined)) {
      process.stderr.write(`infermesh up: --port, --worker-port and --aggregator-port take port numbers, and --consul and --kafka-brokers go together\n\n${HELP}\n`);
      return EXIT_USAGE;
    }
    const secrets = meshSecrets(values.dir);
    const plan = planMesh({ dir: values.dir, gatewayPort, workerPort, aggregatorPort, ...(consul ? { consul } : {}), ...(kafkaBrokers ? { kafkaBrokers } : {}) }, secrets);
    const { kv } = openRegistryStore({ ...infrastructure, registryDir: plan.registryDir });
    const servers: ChildServer[] = [];
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await stopChildServers(servers);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
    try {
      await seedDemoRegistry(plan, new ModelRegistry(kv), kv, consul !== undefined);
      for (const server of plan.servers) {
        if (stopped) return 0;
        process.stdout.write(`[up] starting ${server.name}…\n`);
        servers.push(await startChildServer(server, plan.logsDir));
      }
    } catch (error) {
      process.stderr.write(`infermesh up: ${(error as Error).message}\n`);
      await stop();
      return EXIT_FAILURE;
    }
    process.stdout.write(welcomeText(plan, secrets.adminToken));
    const stopSummary = startLiveSummary(`${plan.gatewayUrl}/v1/experiments/${DEMO_MODEL}`);
    // The mesh runs until Ctrl-C, or until one of its servers dies (then the others are stopped too).
    const first = await Promise.race(servers.map((server) => server.exited.then((code) => ({ server, code }))));
    stopSummary();
    const unexpected = !stopped;
    await stop();
    if (unexpected) {
      process.stderr.write(`infermesh up: ${first.server.name} exited with code ${first.code}; its last lines (${first.server.logFile}):\n${first.server.tail().join('\n')}\n`);
      return EXIT_FAILURE;
    }
    return 0;
  },
};
