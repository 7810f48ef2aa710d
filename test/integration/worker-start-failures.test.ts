import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Consul from 'consul';
import { consulClientOptions, createLogger, InfermeshError, loadConfig, WORKER_SERVICE_NAME } from '@infermesh/shared';
import { createWorker, WORKER_OPTIONS, type WorkerConfig } from '@infermesh/worker';
import { Registry } from 'prom-client';
import { freePorts, LOOPBACK_HOST } from '../infra/free-port.js';
import { testConsul, type TestConsul } from '../infra/test-infra.js';
import { freshFixtures } from '../support/fixtures-dir.js';
import { eventually } from '../support/load-generator.js';
import { uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { healthClient, unary } from '../support/proto-client.js';
import { runCli, startWorkerProcess } from '../support/worker-process.js';

/**
 * Milliseconds a worker that cannot start may take to exit, counted from its spawn: the
 * TypeScript start-up alone takes seconds on a shared machine, and the failure this guards
 * against is a process that never exits.
 */
const EXIT_DEADLINE_MS = 60_000;
/** Milliseconds from the worker's "listening" log line to its exit: stopping what started is prompt. */
const STOP_DEADLINE_MS = 10_000;
/** Consul refuses service meta values longer than this many characters. */
const CONSUL_META_VALUE_LIMIT = 512;

const fixtures = freshFixtures();
const WRONG_SHA256 = '0'.repeat(64);

/** Holds `port` on loopback, as another program would. */
async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, LOOPBACK_HOST, resolve));
  return server;
}

/** Resolves once `port` can be bound again (and releases it). */
async function canBind(port: number): Promise<boolean> {
  try {
    const server = await occupy(port);
    await new Promise((resolve) => server.close(resolve));
    return true;
  } catch {
    return false;
  }
}

/** Listening sockets of this process (grpc-js and http servers are TCPServerWrap handles). */
function listeningSockets(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'TCPServerWrap').length;
}

/** Resolves once this process listens on no more sockets than `count` (a closed handle goes away on the next loop turn). */
async function listeningSocketsBackTo(count: number): Promise<void> {
  await eventually(`listening sockets back to ${count}`, () => listeningSockets() <= count, 5_000, 10);
}

/** `infermesh worker` on loopback with explicit ports, run until it exits on its own (or is killed at the deadline). */
async function runFailingWorker(grpcPort: number, metricsPort: number, args: readonly string[]) {
  const result = await runCli(
    ['worker', '--host', LOOPBACK_HOST, '--port', String(grpcPort), '--metrics-host', LOOPBACK_HOST, '--metrics-port', String(metricsPort), ...args],
    { timeoutMs: EXIT_DEADLINE_MS },
  );
  const exitedAt = Date.now();
  assert.equal(result.timedOut, undefined, `the worker was still running ${EXIT_DEADLINE_MS} ms after its spawn:\n${result.stdout}\n${result.stderr}`);
  const listening = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; time?: string })
    .find((entry) => entry.msg === 'worker listening; loading model');
  return { ...result, msFromListeningToExit: listening?.time === undefined ? undefined : exitedAt - Date.parse(listening.time) };
}

function staticArgs(sha256: string, version = '1'): string[] {
  return ['--model', 'm', '--version', version, '--artifact', fixtures.logistic.uri, '--sha256', sha256, '--artifact-cache-dir', mkdtempSync(join(tmpdir(), 'infermesh-cache-'))];
}

describe('a worker that cannot start exits non-zero, promptly, after releasing its ports', () => {
  let consul: TestConsul;
  before(async () => {
    consul = await testConsul();
  });

  test('metrics port already in use: exit 1 naming the port; the gRPC port it had bound is released', async () => {
    const [grpcPort, metricsPort] = (await freePorts(2)) as [number, number];
    const squatter = await occupy(metricsPort);
    after(() => squatter.close());
    const result = await runFailingWorker(grpcPort, metricsPort, staticArgs(fixtures.logistic.sha256));
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`cannot start: \\[INVALID_CONFIG\\] cannot serve metrics on ${LOOPBACK_HOST}:${metricsPort}: .*EADDRINUSE`));
    assert.ok(await canBind(grpcPort), 'the gRPC port is free again');
  });

  test('gRPC port already in use: exit 1 naming the port', async () => {
    const [grpcPort, metricsPort] = (await freePorts(2)) as [number, number];
    const squatter = await occupy(grpcPort);
    after(() => squatter.close());
    const result = await runFailingWorker(grpcPort, metricsPort, staticArgs(fixtures.logistic.sha256));
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`cannot start: \\[INVALID_CONFIG\\] cannot listen on ${LOOPBACK_HOST}:${grpcPort}`));
    assert.ok(await canBind(metricsPort), 'the metrics port was never taken');
  });

  test('static artifact whose SHA-256 does not match: exit 1 naming both checksums; both ports released', async (t) => {
    const [grpcPort, metricsPort] = (await freePorts(2)) as [number, number];
    const result = await runFailingWorker(grpcPort, metricsPort, staticArgs(WRONG_SHA256));
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`\\[ARTIFACT_CHECKSUM_MISMATCH\\] .*expected sha256 ${WRONG_SHA256}, file has ${fixtures.logistic.sha256}`));
    assert.ok(result.msFromListeningToExit !== undefined, 'the worker got as far as listening');
    t.diagnostic(`exited ${result.msFromListeningToExit} ms after it started listening`);
    assert.ok(result.msFromListeningToExit < STOP_DEADLINE_MS, `exited ${result.msFromListeningToExit} ms after it started listening`);
    assert.ok(await canBind(grpcPort), 'the gRPC port is free again');
    assert.ok(await canBind(metricsPort), 'the metrics port is free again');
  });

  test('a registration Consul refuses: exit 1 naming the refusal; ports released, nothing left in the catalog', async (t) => {
    const [grpcPort, metricsPort] = (await freePorts(2)) as [number, number];
    // A version name Consul will not store as service meta: refused with HTTP 400 on every attempt.
    const version = 'v'.repeat(CONSUL_META_VALUE_LIMIT + 1);
    const result = await runFailingWorker(grpcPort, metricsPort, [...staticArgs(fixtures.logistic.sha256, version), '--consul', consul.httpAddr, '--register']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot start: \[INVALID_CONFIG\] Consul refused to register .*\(HTTP 400/);
    t.diagnostic(`exited ${result.msFromListeningToExit} ms after it started listening`);
    assert.ok(result.msFromListeningToExit !== undefined && result.msFromListeningToExit < STOP_DEADLINE_MS, `exited ${result.msFromListeningToExit} ms after it started listening`);
    assert.ok(await canBind(grpcPort), 'the gRPC port is free again');
    assert.ok(await canBind(metricsPort), 'the metrics port is free again');
    const catalog = new Consul(consulClientOptions(consul.httpAddr));
    const services = (await catalog.agent.service.list()) as Record<string, { Port: number; Service: string }>;
    assert.deepEqual(Object.values(services).filter((service) => service.Service === WORKER_SERVICE_NAME && service.Port === grpcPort), []);
  });

  test('malformed --consul address: exit 2 (usage) before anything is started', async () => {
    const [grpcPort, metricsPort] = (await freePorts(2)) as [number, number];
    const result = await runFailingWorker(grpcPort, metricsPort, [...staticArgs(fixtures.logistic.sha256), '--consul', 'http://[::1', '--register']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--consul \(CONSUL_HTTP_ADDR\) must be an HTTP address/);
    assert.doesNotMatch(result.stdout, /worker listening/);
  });

  test('--register without Consul, in registry mode too: exit 2', async () => {
    const [grpcPort, metricsPort] = (await freePorts(2)) as [number, number];
    const registryDir = mkdtempSync(join(tmpdir(), 'infermesh-registry-'));
    const result = await runFailingWorker(grpcPort, metricsPort, ['--model', 'm', '--deployment', 'prod', '--registry-dir', registryDir, '--register']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--register needs --consul/);
  });
});

describe('registry mode keeps running when its first version is bad', () => {
  test('NOT_SERVING while the promoted version fails its checksum, SERVING once a good one is promoted', async () => {
    const registryArgs = ['--registry-dir', mkdtempSync(join(tmpdir(), 'infermesh-registry-'))];
    const artifacts = writeVersionArtifacts();
    const model = uniqueModelName('firstbad');
    const models = (...args: string[]) => runCli(['models', ...args, ...registryArgs]);
    assert.equal((await models('publish', model, 'bad-sha', '--uri', artifacts.v1.path, '--sha256', 'f'.repeat(64))).code, 0);
    assert.equal((await models('publish', model, 'v1', '--uri', artifacts.v1.path)).code, 0);
    assert.equal((await models('promote', model, 'prod', 'bad-sha')).code, 0);

    const worker = await startWorkerProcess(['--model', model, '--deployment', 'prod', ...registryArgs], { until: 'following deployment' });
    after(() => worker.stop());
    await eventually('the bad version to be rejected', () => worker.logs.some((line) => line.includes('ARTIFACT_CHECKSUM_MISMATCH')));
    const health = healthClient(worker.address);
    after(() => health.close());
    assert.deepEqual(await unary(health, 'Check', { service: '' }), { status: 'NOT_SERVING' });
    assert.equal(worker.process.exitCode, null, 'still running');

    assert.equal((await models('promote', model, 'prod', 'v1')).code, 0);
    await eventually('SERVING after a good promote', async () => (await unary<{ status: string }>(health, 'Check', { service: '' })).status === 'SERVING');
  });
});

describe('createWorker releases what it started before reporting a start-up failure', () => {
  const logger = createLogger({ service: 'worker', level: 'silent' });
  const configWith = (overrides: Partial<WorkerConfig>) =>
    loadConfig<WorkerConfig>(WORKER_OPTIONS, {
      overrides: {
        model: 'm',
        version: '1',
        artifact: fixtures.logistic.uri,
        sha256: fixtures.logistic.sha256,
        artifactCacheDir: mkdtempSync(join(tmpdir(), 'infermesh-cache-')),
        host: LOOPBACK_HOST,
        metricsHost: LOOPBACK_HOST,
        ...overrides,
      },
    });
  const start = (config: WorkerConfig) => createWorker(config, { logger, registry: new Registry(), serverVersion: 'test' });
  const isCode = (code: string) => (error: unknown) => error instanceof InfermeshError && error.code === code;

  test('metrics port taken: createWorker rejects and no listening socket is left', async () => {
    const [grpcPort, metricsPort] = (await freePorts(2)) as [number, number];
    const squatter = await occupy(metricsPort);
    after(() => squatter.close());
    const socketsBefore = listeningSockets();
    await assert.rejects(start(configWith({ port: grpcPort, metricsPort })), isCode('INVALID_CONFIG'));
    await listeningSocketsBackTo(socketsBefore);
    assert.ok(await canBind(grpcPort));
  });

  test('checksum mismatch: ready rejects only after the gRPC and metrics servers are closed', async () => {
    const [grpcPort, metricsPort] = (await freePorts(2)) as [number, number];
    const socketsBefore = listeningSockets();
    const worker = await start(configWith({ port: grpcPort, metricsPort, sha256: WRONG_SHA256 }));
    await assert.rejects(worker.ready, isCode('ARTIFACT_CHECKSUM_MISMATCH'));
    await listeningSocketsBackTo(socketsBefore);
    assert.ok(await canBind(grpcPort));
    assert.ok(await canBind(metricsPort));
  });
});
