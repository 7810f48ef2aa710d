import { join, resolve } from 'node:path';

/** HTTP port of the gateway `infermesh up` starts by default. */
export const DEFAULT_UP_GATEWAY_PORT = 8080;
/** gRPC port of variant a's worker by default; its metrics port is the next one. */
export const DEFAULT_UP_WORKER_PORT = 8001;
/** Ports between the two workers (a on 8001/8002, b on 8011/8012). */
const WORKER_PORT_STEP = 10;
/** Metrics port of the aggregator with real infrastructure. */
export const DEFAULT_UP_AGGREGATOR_METRICS_PORT = 8003;
/** The demo model's name. */
export const DEMO_MODEL = 'demo';

/** What `infermesh up` was asked for. */
export interface UpOptions {
  /** Working directory of the mesh: registry, artifacts, events, logs. */
  dir: string;
  gatewayPort: number;
  workerPort: number;
  /** Consul HTTP address: registry in Consul KV, workers discovered in its catalog. */
  consul?: string;
  /** Kafka brokers: events to Kafka, records from the aggregator service. */
  kafkaBrokers?: string;
  /** Metrics port of the aggregator with real infrastructure (default DEFAULT_UP_AGGREGATOR_METRICS_PORT). */
  aggregatorPort?: number;
}

/** One server of the mesh: a name and the CLI arguments that start it. */
export interface ServerPlan {
  name: string;
  args: string[];
  /** The log line (msg) that says it serves. */
  readyMessage: string;
}

/** One worker variant of the demo experiment. */
export interface VariantPlan {
  name: 'a' | 'b';
  version: 'v1' | 'v2';
  port: number;
  metricsPort: number;
}

/** The whole mesh: where things live and which servers run. */
export interface MeshPlan {
  dir: string;
  registryDir: string;
  modelsDir: string;
  eventsDir: string;
  logsDir: string;
  variants: VariantPlan[];
  servers: ServerPlan[];
  gatewayUrl: string;
  realInfrastructure: boolean;
  /** The brokers events go to on real infrastructure. */
  kafkaBrokers: string | undefined;
}

/** Lays out the mesh for `options`: embedded (file registry, NDJSON events) or on Consul and Kafka. */
export function planMesh(options: UpOptions, secrets: { feedbackKeys: string; adminToken: string }): MeshPlan {
  const dir = resolve(options.dir);
  const registryDir = join(dir, 'registry');
  const eventsDir = join(dir, 'events');
  const real = options.consul !== undefined && options.kafkaBrokers !== undefined;
  const registry = options.consul !== undefined ? ['--consul', options.consul] : ['--registry-dir', registryDir];
  const events = options.kafkaBrokers !== undefined ? ['--kafka-brokers', options.kafkaBrokers, '--events-spool-dir'] : ['--events-dir', eventsDir, '--events-spool-dir'];
  const variants: VariantPlan[] = (['a', 'b'] as const).map((name, index) => {
    const port = options.workerPort + index * WORKER_PORT_STEP;
    return { name, version: index === 0 ? 'v1' : 'v2', port, metricsPort: port + 1 };
  });
  const workers: ServerPlan[] = variants.map((variant) => ({
    name: `worker-${variant.name}`,
    readyMessage: 'worker serving',
    args: [
      'worker', '--model', DEMO_MODEL, '--deployment', variant.name, ...registry,
      ...(options.consul !== undefined ? ['--register'] : []),
      '--host', '127.0.0.1', '--port', String(variant.port), '--metrics-host', '127.0.0.1', '--metrics-port', String(variant.metricsPort),
      '--artifact-cache-dir', join(dir, 'artifacts'), ...events, join(dir, 'spool', `worker-${variant.name}`),
    ],
  }));
  const gateway: ServerPlan = {
    name: 'gateway',
    readyMessage: 'gateway ready',
    args: [
      'gateway', ...registry, '--host', '127.0.0.1', '--port', String(options.gatewayPort),
      '--feedback-keys', secrets.feedbackKeys, '--admin-token', secrets.adminToken,
      '--experiment-records', real ? 'registry' : 'local', ...events, join(dir, 'spool', 'gateway'),
    ],
  };
  const aggregator: ServerPlan[] = real
    ? [{ name: 'aggregator', readyMessage: 'aggregator ready', args: ['aggregate', '--consul', options.consul!, '--kafka-brokers', options.kafkaBrokers!, '--metrics-host', '127.0.0.1', '--metrics-port', String(options.aggregatorPort ?? DEFAULT_UP_AGGREGATOR_METRICS_PORT)] }]
    : [];
  return {
    dir,
    registryDir,
    modelsDir: join(dir, 'models'),
    eventsDir,
    logsDir: join(dir, 'logs'),
    variants,
    servers: [...workers, ...aggregator, gateway],
    gatewayUrl: `http://127.0.0.1:${options.gatewayPort}`,
    realInfrastructure: real,
    kafkaBrokers: options.kafkaBrokers,
  };
}
