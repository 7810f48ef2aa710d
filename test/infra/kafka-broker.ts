import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePorts, LOOPBACK_HOST, startOnFreePorts } from './free-port.js';
import { ensureKafka, type KafkaInstall } from './install-kafka.js';
import { ManagedProcess, removeAtExit } from './managed-process.js';

/** Milliseconds to wait for a started broker to answer a metadata request. */
export const KAFKA_READY_TIMEOUT_MS = 60_000;

/** Milliseconds the one-off log-dir format may take. */
const FORMAT_TIMEOUT_MS = 60_000;

/** Milliseconds one readiness probe may spend connecting. */
const PROBE_CONNECT_TIMEOUT_MS = 1_000;

/** Milliseconds one readiness probe may wait for the metadata answer. */
const PROBE_REQUEST_TIMEOUT_MS = 5_000;

/** Consumer group looked up (never joined) to make the broker create its offsets topic during start-up. */
const WARM_UP_GROUP = 'infermesh-infra-warm-up';

/** Fixed KRaft cluster id (base64url of "infermesh-test-1"): every test broker is its own one-node cluster. */
const CLUSTER_ID = 'aW5mZXJtZXNoLXRlc3QtMQ';

/**
 * JVM options: a capped heap for a 2-core, shared machine; the serial GC and the C1-only JIT start the
 * broker faster than the defaults (G1 and tiered C2), which matters more here than peak throughput.
 */
const JVM_OPTIONS = ['-Xmx512m', '-Xms128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true'];

/** A running single-node KRaft Kafka broker on loopback. */
export interface KafkaBroker {
  /** Bootstrap servers, e.g. ["127.0.0.1:9092"]. */
  readonly brokers: string[];
  /** Partition logs and KRaft metadata; kept across stop()/start(). */
  readonly logDir: string;
  /** The broker's console output, appended across restarts. */
  readonly logFile: string;
  /** SIGTERM (controlled shutdown), then SIGKILL after a timeout; resolves once the JVM has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and log dir, resolving when it answers metadata requests. */
  start(): Promise<void>;
}

interface KafkaPorts {
  readonly plaintext: number;
  readonly controller: number;
}

/** Starts a single-node KRaft broker (broker and controller in one JVM) on free loopback ports, fetching Kafka first if needed. */
export async function startKafka(): Promise<KafkaBroker> {
  const install = await ensureKafka();
  const workDir = await mkdtemp(join(tmpdir(), 'infermesh-kafka-'));
  removeAtExit(workDir);
  const logDir = join(workDir, 'data');
  const logFile = join(workDir, 'kafka.log');
  const propertiesFile = join(workDir, 'server.properties');

  return startOnFreePorts(logFile, async (attempt) => {
    const ports = await pickPorts();
    await writeFile(propertiesFile, serverProperties(ports, logDir));
    // The format records only the cluster and node ids, so fresh ports on a retry need no new format.
    if (attempt === 1) await formatLogDir(install, propertiesFile, logFile);
    const brokerProcess = createProcess(install, propertiesFile, logFile);
    await runUntilReady(brokerProcess, ports);
    return {
      brokers: [bootstrapOf(ports)],
      logDir,
      logFile,
      stop: () => brokerProcess.stop(),
      start: () => runUntilReady(brokerProcess, ports),
    };
  });
}

async function pickPorts(): Promise<KafkaPorts> {
  const [plaintext, controller] = await freePorts(2);
  if (plaintext === undefined || controller === undefined) throw new Error('startKafka: could not pick two free ports');
  return { plaintext, controller };
}

function serverProperties(ports: KafkaPorts, logDir: string): string {
  const properties: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${LOOPBACK_HOST}:${ports.controller}`,
    listeners: `PLAINTEXT://${LOOPBACK_HOST}:${ports.plaintext},CONTROLLER://${LOOPBACK_HOST}:${ports.controller}`,
    'advertised.listeners': `PLAINTEXT://${LOOPBACK_HOST}:${ports.plaintext}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': logDir,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    // The default 50 partitions make the first consumer group wait while they are all created.
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': true,
    'delete.topic.enable': true,
  };
  return `${Object.entries(properties)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join('\n')}\n`;
}

function javaArgs(install: KafkaInstall, mainClass: string, args: readonly string[]): string[] {
  return [
    ...JVM_OPTIONS,
    `-Dlog4j.configuration=file:${install.log4jConfig}`,
    '-cp',
    join(install.libDir, '*'),
    mainClass,
    ...args,
  ];
}

async function formatLogDir(install: KafkaInstall, propertiesFile: string, logFile: string): Promise<void> {
  const formatter = new ManagedProcess({
    name: 'kafka storage format',
    command: 'java',
    args: javaArgs(install, 'kafka.tools.StorageTool', ['format', '--ignore-formatted', '--cluster-id', CLUSTER_ID, '--config', propertiesFile]),
    logFile,
  });
  await formatter.runToCompletion(FORMAT_TIMEOUT_MS);
}

function createProcess(install: KafkaInstall, propertiesFile: string, logFile: string): ManagedProcess {
  return new ManagedProcess({
    name: 'kafka',
    command: 'java',
    args: javaArgs(install, 'kafka.Kafka', [propertiesFile]),
    logFile,
  });
}

async function runUntilReady(brokerProcess: ManagedProcess, ports: KafkaPorts): Promise<void> {
  brokerProcess.start();
  await brokerProcess.waitUntilReady(() => isReady(bootstrapOf(ports)), KAFKA_READY_TIMEOUT_MS);
}

/**
 * Ready means a metadata request answers and a group coordinator is found. Asking for the coordinator
 * creates __consumer_offsets, which otherwise happens under the first test's consumer and makes kafkajs
 * log "group coordinator is not available" errors while it retries.
 */
async function isReady(bootstrap: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'infermesh-infra-probe',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: PROBE_CONNECT_TIMEOUT_MS,
    requestTimeout: PROBE_REQUEST_TIMEOUT_MS,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0 || cluster.controller === null) return false;
    await admin.describeGroups([WARM_UP_GROUP]);
    return true;
  } finally {
    await admin.disconnect();
  }
}

function bootstrapOf(ports: KafkaPorts): string {
  return `${LOOPBACK_HOST}:${ports.plaintext}`;
}
