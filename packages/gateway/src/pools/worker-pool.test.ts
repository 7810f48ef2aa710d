import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createLogger, InfermeshError, type ModelInferResponse__Output, type ModelMetadataResponse__Output } from '@infermesh/shared';
import { Registry } from 'prom-client';
import type { EndpointSource } from './endpoint-source.js';
import { PoolMetrics } from './pool-metrics.js';
import { StaticEndpointSource } from './static-endpoint-source.js';
import { WorkerCallError } from './worker-call-error.js';
import type { ModelInferRequest, WorkerCallOptions, WorkerClient } from './worker-client.js';
import type { WorkerEndpoint } from './worker-endpoint.js';
import { WorkerPool } from './worker-pool.js';

/** An in-memory worker: answers, fails as told, or holds calls until released. */
class FakeWorker implements WorkerClient {
  readonly calls: WorkerCallOptions[] = [];
  /** What the next calls do: answer, fail with this error, or wait for `release()`. */
  mode: 'answer' | 'hold' | WorkerCallError = 'answer';
  serving = true;
  probes = 0;
  closed = 0;
  private readonly held: (() => void)[] = [];

  constructor(readonly address: string) {}

  async modelInfer(request: ModelInferRequest, options: WorkerCallOptions): Promise<ModelInferResponse__Output> {
    this.calls.push(options);
    const mode = this.mode;
    if (mode === 'hold') await new Promise<void>((resolve) => this.held.push(resolve));
    else if (mode instanceof WorkerCallError) throw mode;
    return { modelName: request.modelName ?? '', modelVersion: 'v1', id: this.address, parameters: {}, outputs: [], rawOutputContents: [] };
  }

  async modelMetadata(model: string): Promise<ModelMetadataResponse__Output> {
    if (this.mode instanceof WorkerCallError) throw this.mode;
    return { name: model, versions: ['v1'], platform: this.address, inputs: [], outputs: [] };
  }

  async check(): Promise<boolean> {
    this.probes += 1;
    return this.serving;
  }

  close(): void {
    this.closed += 1;
  }

  /** Lets every held call answer. */
  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
}

/** A source whose list the test changes. */
class ManualEndpointSource implements EndpointSource {
  readonly ready = Promise.resolve();
  private list: readonly WorkerEndpoint[] = [];
  private readonly listeners: ((endpoints: readonly WorkerEndpoint[]) => void)[] = [];
  start(): void {}
  async stop(): Promise<void> {}
  endpoints(): readonly WorkerEndpoint[] {
    return this.list;
  }
  onChange(listener: (endpoints: readonly WorkerEndpoint[]) => void): void {
    this.listeners.push(listener);
  }
  set(addresses: string[], version = 'v1'): void {
    this.list = addresses.map((address) => ({ id: `id-${address}`, address, meta: { version } }));
    for (const listener of this.listeners) listener(this.list);
  }
}

const unavailableBeforeHeaders = () => new WorkerCallError(status.UNAVAILABLE, 'connect ECONNREFUSED', false, undefined);
const unavailableAfterHeaders = () => new WorkerCallError(status.UNAVAILABLE, 'connection dropped', true, undefined);
const request: ModelInferRequest = { modelName: 'm', inputs: [] };

function setup(source: EndpointSource = new StaticEndpointSource(['a:1', 'b:1']), random: () => number = () => 0) {
  const workers = new Map<string, FakeWorker>();
  const created: string[] = [];
  const clock = { now: 1_000_000 };
  const registry = new Registry();
  const pool = new WorkerPool(
    'm/prod',
    source,
    {
      metrics: new PoolMetrics(registry),
      logger: createLogger({ service: 'test', level: 'silent' }),
      random,
      now: () => clock.now,
      createClient: (address) => {
        created.push(address);
        const worker = new FakeWorker(address);
        workers.set(address, worker);
        return worker;
      },
    },
    { ejectAfterFailures: 3, ejectionMs: 5_000 },
  );
  pool.start();
  after(() => pool.close());
  const worker = (address: string) => workers.get(address)!;
  const call = () => pool.infer(request, { deadline: new Date(clock.now + 10_000), requestId: 'req-1' });
  return { pool, worker, workers, created, clock, registry, call };
}

const until = async (what: string, predicate: () => boolean) => {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
};

test('power of two choices: each call goes to the less loaded of the two drawn', async () => {
  const { worker, call } = setup();
  worker('a:1').mode = 'hold';
  worker('b:1').mode = 'hold';
  // random() = 0 always draws a first and b second; a tie goes to a.
  const calls = [call(), call(), call(), call(), call()];
  await until('all calls issued', () => worker('a:1').calls.length + worker('b:1').calls.length === 5);
  assert.equal(worker('a:1').calls.length, 3, 'a got the ties');
  assert.equal(worker('b:1').calls.length, 2, 'b got every call while a was busier');
  worker('a:1').release();
  worker('b:1').release();
  const instances = (await Promise.all(calls)).map((result) => result.instance.address);
  assert.deepEqual(instances.sort(), ['a:1', 'a:1', 'a:1', 'b:1', 'b:1']);
});

test('request id and deadline reach the worker; the result names the instance', async () => {
  const { worker, pool, clock } = setup();
  const deadline = new Date(clock.now + 1_234);
  const result = await pool.infer(request, { deadline, requestId: 'req-42' });
  assert.deepEqual(result.instance, { id: 'a:1', address: 'a:1', meta: {} });
  assert.equal(result.attempts, 1);
  assert.deepEqual(worker('a:1').calls[0], { deadline, metadata: { 'x-request-id': 'req-42' } });
});

test('ejected after 3 consecutive failures, probed after the ejection period, back in rotation when the probe passes', async () => {
  const { worker, pool, clock, registry, call } = setup();
  const a = worker('a:1');
  a.mode = unavailableAfterHeaders();
  // Headers arrived, so no retry: each call fails and counts against a.
  for (let attempt = 0; attempt < 3; attempt += 1) await assert.rejects(call(), { code: 'UPSTREAM_UNAVAILABLE' });
  assert.equal(pool.healthyCount(), 1);
  assert.equal(pool.size(), 2);
  assert.match(await registry.metrics(), /infermesh_gateway_pool_ejections_total\{pool="m\/prod",instance="a:1"\} 1/);
  assert.match(await registry.metrics(), /infermesh_gateway_pool_instances\{pool="m\/prod",state="ejected"\} 1/);
  for (let attempt = 0; attempt < 5; attempt += 1) assert.equal((await call()).instance.address, 'b:1');

  a.mode = 'answer';
  a.serving = false;
  clock.now += 4_999;
  await call();
  assert.equal(a.probes, 0, 'not probed before the ejection period ends');
  clock.now += 1;
  await call();
  await until('the failed probe', () => a.probes === 1);
  assert.equal(pool.healthyCount(), 1, 'a NOT_SERVING probe keeps it ejected');
  clock.now += 5_000;
  a.serving = true;
  await call();
  await until('a back in rotation', () => pool.healthyCount() === 2);
  assert.equal(a.probes, 2);
  const before = a.calls.length;
  for (let attempt = 0; attempt < 4; attempt += 1) await call();
  assert.ok(a.calls.length > before, 'a receives traffic again');
});

test('a call that did not reach the model is retried once on another instance', async () => {
  const { worker, pool, registry, call } = setup(new StaticEndpointSource(['a:1', 'b:1', 'c:1']));
  worker('a:1').mode = unavailableBeforeHeaders();
  const result = await call();
  assert.equal(result.attempts, 2);
  assert.notEqual(result.instance.address, 'a:1');
  assert.match(await registry.metrics(), /infermesh_gateway_worker_retries_total\{pool="m\/prod"\} 1/);

  // Every instance refuses: one retry only, then UPSTREAM_UNAVAILABLE.
  for (const address of ['a:1', 'b:1', 'c:1']) worker(address).mode = unavailableBeforeHeaders();
  const callsBefore = ['a:1', 'b:1', 'c:1'].reduce((sum, address) => sum + worker(address).calls.length, 0);
  await assert.rejects(call(), (error: InfermeshError) => error.code === 'UPSTREAM_UNAVAILABLE' && error.retriable);
  const callsAfter = ['a:1', 'b:1', 'c:1'].reduce((sum, address) => sum + worker(address).calls.length, 0);
  assert.equal(callsAfter - callsBefore, 2);
  assert.equal(pool.healthyCount(), 3);
});

test('a worker not ready (MODEL_NOT_READY trailer) is skipped for another instance', async () => {
  const { worker, call } = setup();
  worker('a:1').mode = new WorkerCallError(status.UNAVAILABLE, 'no model is loaded yet', false, 'MODEL_NOT_READY');
  const result = await call();
  assert.deepEqual([result.instance.address, result.attempts], ['b:1', 2]);
});

test('a client mistake is not retried, keeps the worker message, and never ejects', async () => {
  const { worker, pool, call } = setup();
  for (const address of ['a:1', 'b:1']) worker(address).mode = new WorkerCallError(status.INVALID_ARGUMENT, "input 'x' has shape [2], expected [1,4]", false, 'INVALID_TENSOR');
  for (let attempt = 0; attempt < 10; attempt += 1) {
    await assert.rejects(call(), { code: 'INVALID_TENSOR', message: "input 'x' has shape [2], expected [1,4]" });
  }
  assert.equal(worker('a:1').calls.length + worker('b:1').calls.length, 10, 'one attempt each');
  assert.equal(pool.healthyCount(), 2);
});

test('deadline exceeded maps to DEADLINE_EXCEEDED, unretried and not held against the instance', async () => {
  const { worker, pool, call } = setup();
  worker('a:1').mode = new WorkerCallError(status.DEADLINE_EXCEEDED, 'Deadline exceeded', false, undefined);
  for (let attempt = 0; attempt < 5; attempt += 1) await assert.rejects(call(), { code: 'DEADLINE_EXCEEDED' });
  assert.equal(pool.healthyCount(), 2);
});

test('no instances, or all ejected: NO_HEALTHY_WORKER', async () => {
  const empty = setup(new StaticEndpointSource([]));
  await assert.rejects(empty.call(), { code: 'NO_HEALTHY_WORKER' });
  const { worker, pool, call } = setup(new StaticEndpointSource(['a:1']));
  worker('a:1').mode = unavailableAfterHeaders();
  for (let attempt = 0; attempt < 3; attempt += 1) await assert.rejects(call(), { code: 'UPSTREAM_UNAVAILABLE' });
  assert.equal(pool.healthyCount(), 0);
  await assert.rejects(call(), (error: InfermeshError) => error.code === 'NO_HEALTHY_WORKER' && error.retriable);
});

test('one client per address, reused; a departed instance closes its client once its calls end', async () => {
  const source = new ManualEndpointSource();
  const { worker, pool, created, call } = setup(source);
  source.set(['a:1', 'b:1']);
  for (let attempt = 0; attempt < 6; attempt += 1) await call();
  source.set(['a:1', 'b:1']);
  assert.deepEqual(created, ['a:1', 'b:1']);

  const b = worker('b:1');
  b.mode = 'hold';
  worker('a:1').mode = 'hold';
  // random() = 0: the first call takes a (a tie), the second the less loaded b.
  const inflight = [call(), call()];
  await until('a call held on b', () => b.calls.length === 1);
  source.set(['a:1', 'c:1']);
  assert.equal(pool.size(), 2);
  assert.equal(b.closed, 0, 'not closed under a running call');
  b.release();
  worker('a:1').release();
  await Promise.all(inflight);
  assert.equal(b.closed, 1);
  source.set(['a:1', 'b:1', 'c:1']);
  assert.deepEqual(created, ['a:1', 'b:1', 'c:1', 'b:1'], 'a returning instance gets a new client');
});

test('meta changes for a known address keep its client and state', async () => {
  const source = new ManualEndpointSource();
  const { pool, created, call } = setup(source);
  source.set(['a:1'], 'v1');
  assert.equal((await call()).instance.meta.version, 'v1');
  source.set(['a:1'], 'v2');
  assert.equal((await call()).instance.meta.version, 'v2', 'the result reports the current meta');
  assert.equal(created.length, 1);
  assert.equal(pool.size(), 1);
});

test('metadata comes from a healthy instance; a read is retried after any availability failure', async () => {
  const { worker, pool } = setup(new StaticEndpointSource(['a:1', 'b:1']));
  worker('a:1').mode = unavailableAfterHeaders();
  const metadata = await pool.metadata('m');
  assert.deepEqual([metadata.name, metadata.platform], ['m', 'b:1']);
  worker('b:1').mode = new WorkerCallError(status.NOT_FOUND, "model 'x' is not served here", false, 'MODEL_NOT_FOUND');
  await assert.rejects(pool.metadata('x'), { code: 'MODEL_NOT_FOUND' });
});

test('call durations are recorded per instance and status; departed instances drop their series', async () => {
  const source = new ManualEndpointSource();
  const { worker, registry, call } = setup(source);
  source.set(['a:1']);
  await call();
  worker('a:1').mode = unavailableAfterHeaders();
  await assert.rejects(call());
  const text = await registry.metrics();
  assert.match(text, /infermesh_gateway_worker_call_duration_seconds_count\{pool="m\/prod",instance="id-a:1",code="OK"\} 1/);
  assert.match(text, /infermesh_gateway_worker_call_duration_seconds_count\{pool="m\/prod",instance="id-a:1",code="UNAVAILABLE"\} 1/);
  source.set(['b:1']);
  assert.doesNotMatch(await registry.metrics(), /instance="id-a:1"/);
});

test('versions() lists what the instances in rotation report, once each; a static pool, what its instances last answered with', async () => {
  const source = new ManualEndpointSource();
  const { pool } = setup(source);
  source.set(['a:1', 'b:1'], 'v2');
  assert.deepEqual(pool.versions(), ['v2']);
  source.set(['a:1'], 'v3');
  assert.deepEqual(pool.versions(), ['v3']);
  const unlabelled = setup();
  assert.deepEqual(unlabelled.pool.versions(), []);
  await unlabelled.call();
  assert.deepEqual(unlabelled.pool.versions(), ['v1'], 'the fake worker answers as v1');
});
