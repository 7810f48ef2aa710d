import { randomBytes } from 'node:crypto';
import { startConsul, type ConsulAgent } from './consul-agent.js';
import { ensureConsul } from './install-consul.js';
import { ensureKafka } from './install-kafka.js';
import { ensureNomad } from './install-nomad.js';
import { formatElapsed, type ProgressLog } from './install-step.js';
import { startKafka, type KafkaBroker } from './kafka-broker.js';

/** Env var a test launcher sets to the HTTP address of a Consul agent shared by all test processes. */
export const CONSUL_ADDR_ENV = 'INFERMESH_TEST_CONSUL_ADDR';

/** Env var a test launcher sets to the comma-separated bootstrap servers of a shared Kafka broker. */
export const KAFKA_BROKERS_ENV = 'INFERMESH_TEST_KAFKA_BROKERS';

/** A Consul to test against, and a KV prefix no other test uses. */
export interface TestConsul {
  /** Base URL of the HTTP API, e.g. "http://127.0.0.1:8500". */
  readonly httpAddr: string;
  /** Unique KV prefix ending in "/", e.g. "test/3f9a0c2b1d4e/". */
  readonly prefix: string;
}

/** A Kafka to test against, and a maker of topic names no other test uses. */
export interface TestKafka {
  readonly brokers: string[];
  /** A unique topic name, "test-<name>-<random>". */
  readonly topic: (name: string) => string;
}

/** Servers started for the whole test run, and the env vars that point test processes at them. */
export interface SharedInfra {
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

let ownConsul: Promise<ConsulAgent> | undefined;
let ownKafka: Promise<KafkaBroker> | undefined;

/** The launcher's shared Consul if there is one, otherwise one agent started (once) for this test process. */
export async function testConsul(): Promise<TestConsul> {
  const shared = process.env[CONSUL_ADDR_ENV];
  const httpAddr = shared !== undefined && shared !== '' ? shared : (await (ownConsul ??= startOwned(startConsul))).httpAddr;
  return { httpAddr, prefix: `test/${randomSuffix()}/` };
}

/** The launcher's shared Kafka if there is one, otherwise one broker started (once) for this test process. */
export async function testKafka(): Promise<TestKafka> {
  const shared = process.env[KAFKA_BROKERS_ENV];
  const brokers =
    shared !== undefined && shared !== ''
      ? shared.split(',').map((broker) => broker.trim()).filter((broker) => broker !== '')
      : (await (ownKafka ??= startOwned(startKafka))).brokers;
  return { brokers, topic: (name) => `test-${name.replace(/[^a-zA-Z0-9._-]/g, '_')}-${randomSuffix()}` };
}

/**
 * For the test launcher: installs Consul, Kafka and Nomad, and starts one Consul and one Kafka for all test
 * processes (Nomad is installed only: the tests that need one start their own agent).
 */
export async function startSharedInfra(log: ProgressLog): Promise<SharedInfra> {
  // The two Go builds one after the other: each already uses every core, and Nomad reuses packages Consul compiled.
  await Promise.all([ensureConsul(log).then(() => ensureNomad(log)), ensureKafka(log)]);
  const startedAt = Date.now();
  const [consul, kafka] = await Promise.allSettled([timedStart('consul', startConsul, log), timedStart('kafka', startKafka, log)]);
  if (consul.status === 'rejected' || kafka.status === 'rejected') {
    await Promise.all([consul, kafka].map((started) => (started.status === 'fulfilled' ? started.value.stop() : undefined)));
    const failures = [consul, kafka].flatMap((started) => (started.status === 'rejected' ? [started.reason] : []));
    throw new AggregateError(failures, `shared test infrastructure did not start: ${failures.map(String).join('; ')}`);
  }
  log(`test infra: consul and kafka ready in ${formatElapsed(startedAt)}`);
  return {
    env: { [CONSUL_ADDR_ENV]: consul.value.httpAddr, [KAFKA_BROKERS_ENV]: kafka.value.brokers.join(',') },
    stop: async () => {
      await Promise.all([consul.value.stop(), kafka.value.stop()]);
    },
  };
}

/** Starts a per-process server and stops it gracefully once this process has nothing left to do. */
function startOwned<T extends { stop(): Promise<void> }>(start: () => Promise<T>): Promise<T> {
  const started = start();
  // 'beforeExit' fires when the event loop drains (the servers' child handles are unref'd), so the stop can
  // still be asynchronous; an abrupt exit is covered by managed-process's SIGKILL hook.
  process.once('beforeExit', () => {
    void started.then((server) => server.stop()).catch(() => undefined);
  });
  return started;
}

async function timedStart<T>(name: string, start: () => Promise<T>, log: ProgressLog): Promise<T> {
  const startedAt = Date.now();
  const server = await start();
  log(`test infra: ${name} started in ${Date.now() - startedAt} ms`);
  return server;
}

function randomSuffix(): string {
  return randomBytes(6).toString('hex');
}
