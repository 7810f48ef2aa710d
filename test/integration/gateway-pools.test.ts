import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { createConsulClient, createLogger, type InfermeshError } from '@infermesh/shared';
import { Registry } from 'prom-client';
import {
  ConsulEndpointSource,
  PoolMetrics,
  StaticEndpointSource,
  WorkerPool,
  type EndpointSource,
  type ModelInferRequest,
} from '@infermesh/gateway';
import { freePorts } from '../infra/free-port.js';
import { testConsul } from '../infra/test-infra.js';
import { eventually } from '../support/load-generator.js';
import { uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { answeredBy, startPoolLoad } from '../support/pool-load-generator.js';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/** Concurrent callers on the pool while workers come and go. */
const CALLERS = 16;
/** Milliseconds a catalog blocking query waits in these tests (shorter than production's 30 s). */
const CATALOG_WAIT_MS = 5_000;
/** Milliseconds to wait for anything the catalog or the pool must notice: generous, the machine is loaded. */
const NOTICE_TIMEOUT_MS = 30_000;

const artifacts = writeVersionArtifacts();
const logger = createLogger({ service: 'gateway-pools-test', level: process.env.INFERMESH_TEST_LOG_LEVEL === undefined ? 'silent' : 'info' });
const workers: WorkerProcess[] = [];
const pools: WorkerPool[] = [];

function logisticRequest(model: string): ModelInferRequest {
  return { modelName: model, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32Contents: [0.5, 1, 2, 0.1] } }] };
}

function makePool(name: string, source: EndpointSource, registry: Registry): WorkerPool {
  const pool = new WorkerPool(name, source, { metrics: new PoolMetrics(registry), logger, random: Math.random, now: Date.now });
  pools.push(pool);
  return pool;
}

async function startWorker(args: string[]): Promise<WorkerProcess> {
  const worker = await startWorkerProcess(args);
  workers.push(worker);
  return worker;
}

/** SIGKILLs a worker: no deregistration, no drain, connections reset. */
async function kill(worker: WorkerProcess): Promise<void> {
  worker.process.kill('SIGKILL');
  await worker.exited;
}

after(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
  await Promise.all(workers.map((worker) => (worker.process.exitCode === null && worker.process.signalCode === null ? worker.stop() : undefined)));
});

describe('worker pool discovered from the Consul catalog', () => {
  const model = uniqueModelName('pool-consul');
  let registryArgs: string[];
  let consulAddr: string;

  before(async () => {
    const consul = await testConsul();
    consulAddr = consul.httpAddr;
    registryArgs = ['--consul', consul.httpAddr, '--kv-prefix', consul.prefix];
    const published = await runCli(['models', 'publish', model, 'v1', '--uri', `file://${artifacts.v1.path}`, ...registryArgs]);
    assert.equal(published.code, 0, published.stderr);
    assert.equal((await runCli(['models', 'promote', model, 'prod', 'v1', ...registryArgs])).code, 0);
  });

  const registeredWorker = () => startWorker(['--model', model, '--deployment', 'prod', ...registryArgs, '--register', '--advertise-address', '127.0.0.1']);

  test('calls reach every discovered instance; a new instance gets traffic soon after it passes; a SIGTERMed one stops getting it', async (t) => {
    const [first, second] = await Promise.all([registeredWorker(), registeredWorker()]);
    const source = new ConsulEndpointSource(createConsulClient(consulAddr), { model, deployment: 'prod' }, {
      logger,
      random: Math.random,
      sleep: (ms, signal) => sleep(ms, undefined, { signal }),
      waitMs: CATALOG_WAIT_MS,
    });
    const registry = new Registry();
    const pool = makePool(`${model}/prod`, source, registry);
    pool.start();
    await source.ready;
    await eventually('both workers in the pool', () => pool.size() === 2, NOTICE_TIMEOUT_MS);
    assert.deepEqual(source.endpoints().map((endpoint) => endpoint.meta), [
      { model, deployment: 'prod', version: 'v1' },
      { model, deployment: 'prod', version: 'v1' },
    ]);

    const load = startPoolLoad(pool, logisticRequest(model), CALLERS);
    await eventually('traffic on both workers', () => answeredBy(load.calls, first!.address) > 50 && answeredBy(load.calls, second!.address) > 50, NOTICE_TIMEOUT_MS);

    // A third worker: from "serving" (registered in the same step) to its first answered call.
    const third = await registeredWorker();
    const servingAt = performance.now();
    let joinedAt = 0;
    await eventually('the third worker in the pool', () => (pool.size() === 3 ? ((joinedAt = performance.now()), true) : false), NOTICE_TIMEOUT_MS, 10);
    await eventually('traffic on the third worker', () => answeredBy(load.calls, third.address) > 0, NOTICE_TIMEOUT_MS, 10);
    const firstAnswer = Math.min(...load.calls.filter((call) => call.instance === third.address).map((call) => call.endedAt));
    t.diagnostic(`new worker: in the pool ${Math.round(joinedAt - servingAt)} ms after it served, first answered call after ${Math.round(firstAnswer - servingAt)} ms`);

    // SIGTERM: the worker deregisters, then drains; the pool must drop it without failed calls.
    const stoppedAt = performance.now();
    assert.equal(await first!.stop(), 0);
    const exitedAt = performance.now();
    await eventually('the stopped worker out of the pool', () => pool.size() === 2, NOTICE_TIMEOUT_MS);
    await sleep(1_000);
    const calls = await load.stop();

    const failed = calls.filter((call) => call.error !== undefined);
    t.diagnostic(`SIGTERM phase: ${calls.filter((call) => call.startedAt >= stoppedAt).length} calls, ${failed.length} failed, ${calls.filter((call) => (call.attempts ?? 1) > 1).length} retried`);
    assert.deepEqual(failed.map((call) => call.error), [], 'no call fails while workers join and leave');
    assert.equal(answeredBy(calls, first!.address, exitedAt), 0, 'nothing answered by the stopped worker after it exited');
    assert.ok(answeredBy(calls, second!.address, exitedAt) > 0 && answeredBy(calls, third.address, exitedAt) > 0, 'the remaining two share the traffic');
    const metrics = await registry.metrics();
    assert.match(metrics, new RegExp(`infermesh_gateway_pool_instances\\{pool="${model}/prod",state="healthy"\\} 2`));
    assert.match(metrics, /infermesh_gateway_worker_call_duration_seconds_count\{[^}]*code="OK"\} [1-9]/);
  });
});

describe('static worker pool', () => {
  const model = uniqueModelName('pool-static');
  const staticArgs = (port: number) => ['--model', model, '--version', 'v1', '--artifact', artifacts.v1.path, '--sha256', artifacts.v1.sha256, '--port', String(port)];

  test(`SIGKILL one of two workers under ${CALLERS} callers: it is ejected, then probed back after a restart on the same port`, async (t) => {
    const [portA, portB] = (await freePorts(2)) as [number, number];
    const [workerA, workerB] = await Promise.all([startWorker(staticArgs(portA)), startWorker(staticArgs(portB))]);
    const registry = new Registry();
    const pool = makePool(`${model}/static`, new StaticEndpointSource([workerA!.address, workerB!.address]), registry);
    pool.start();

    // Worker errors over real gRPC: a client mistake stays a 4xx code with the worker's message, never ejects.
    const badShape: ModelInferRequest = { ...logisticRequest(model), inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], contents: { fp32Contents: [1, 2, 3] } }] };
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await assert.rejects(pool.infer(badShape, { deadline: new Date(Date.now() + 5_000), requestId: 'bad' }), (error: InfermeshError) => {
        assert.equal(error.code, 'INVALID_TENSOR');
        assert.match(error.message, /features/);
        return true;
      });
    }
    await assert.rejects(pool.infer(logisticRequest('no-such-model'), { deadline: new Date(Date.now() + 5_000), requestId: 'nf' }), { code: 'MODEL_NOT_FOUND' });
    assert.equal(pool.healthyCount(), 2);
    const metadata = await pool.metadata(model);
    assert.deepEqual([metadata.name, metadata.versions, metadata.inputs[0]?.name], [model, ['v1'], 'features']);

    const load = startPoolLoad(pool, logisticRequest(model), CALLERS);
    await eventually('traffic on both workers', () => answeredBy(load.calls, workerA!.address) > 100 && answeredBy(load.calls, workerB!.address) > 100, NOTICE_TIMEOUT_MS);

    const killedAt = performance.now();
    await kill(workerB!);
    await eventually('the killed worker ejected', () => pool.healthyCount() === 1, NOTICE_TIMEOUT_MS, 10);
    const ejectedAt = performance.now();
    // Stay down a while: calls must keep succeeding on the one worker left.
    await sleep(2_000);
    const whileDown = load.calls.filter((call) => call.startedAt > ejectedAt);
    assert.ok(whileDown.length > 100, `calls go on while the worker is down (${whileDown.length})`);
    assert.ok(whileDown.every((call) => call.error === undefined && call.instance === workerA!.address), 'every call after the ejection is answered by the live worker');

    const restarted = await startWorker(staticArgs(portB));
    assert.equal(restarted.address, workerB!.address);
    const restartedAt = performance.now();
    await eventually('the restarted worker probed back into rotation', () => pool.healthyCount() === 2, NOTICE_TIMEOUT_MS, 10);
    const backAt = performance.now();
    await eventually('traffic on the restarted worker', () => answeredBy(load.calls, restarted.address, restartedAt) > 50, NOTICE_TIMEOUT_MS);
    const calls = await load.stop();

    const failed = calls.filter((call) => call.error !== undefined);
    const retried = calls.filter((call) => (call.attempts ?? 1) > 1);
    t.diagnostic(
      `SIGKILL under load: ${calls.length} calls, ${failed.length} failed, ${retried.length} retried on the other worker; ` +
        `ejected ${Math.round(ejectedAt - killedAt)} ms after the kill; back in rotation ${Math.round(backAt - restartedAt)} ms after the restart served`,
    );
    for (const call of failed.slice(0, 5)) t.diagnostic(`failed: ${call.error}`);
    // Only calls already on the killed worker's connection can fail, and the retry covers those
    // that provably never reached it; so at most one per caller, and none issued after the ejection.
    assert.ok(failed.length <= CALLERS, `${failed.length} failed calls`);
    assert.ok(failed.every((call) => call.startedAt < ejectedAt), 'no call issued after the ejection fails');
    const metrics = await registry.metrics();
    assert.match(metrics, new RegExp(`infermesh_gateway_pool_ejections_total\\{pool="${model}/static",instance="${workerB!.address}"\\} 1`));
    assert.match(metrics, new RegExp(`infermesh_gateway_pool_instances\\{pool="${model}/static",state="healthy"\\} 2`));
  });
});
