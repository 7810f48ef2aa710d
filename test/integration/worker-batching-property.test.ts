import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { status, type Client } from '@grpc/grpc-js';
import fc from 'fast-check';
import { createLogger, FileKvStore, InMemoryEventPublisher, loadConfig, ModelRegistry } from '@infermesh/shared';
import { createWorker, loadModelRuntime, WORKER_OPTIONS, type ModelRuntime, type Worker, type WorkerConfig } from '@infermesh/worker';
import { Registry, type Histogram } from 'prom-client';
import { eventually } from '../support/load-generator.js';
import { uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { inferenceClient, refusesNewCalls, unary, type CallError } from '../support/proto-client.js';

// A worker in this process, serving the logistic-regression fixture through its real ONNX
// runtime and real gRPC, following a deployment in a file registry so versions can be swapped.
// Each runtime the worker loads is wrapped to record the rows of every call and, on demand,
// to hold calls inside the model: the test then knows which calls queue behind which.

/** Rows one runtime call may carry here: small enough that the generated traffic hits the bound. */
const MAX_BATCH_SIZE = 16;
/** Milliseconds a queued call may wait: long, so only Nagle's rule (a running call ending) releases a queue here. */
const MAX_QUEUE_DELAY_MS = 60_000;
/** Milliseconds a promoted version may take to be served (CI shares its cores). */
const SWAP_TIMEOUT_MS = 30_000;

interface TrackedRuntime extends ModelRuntime {
  /** First feature of every row of every call, per call, in call order. */
  readonly calls: number[][];
  /** Holds calls from now on until the returned function is called. */
  park(): () => void;
}

const model = uniqueModelName('batching');
const artifacts = writeVersionArtifacts();
const registryDir = mkdtempSync(join(tmpdir(), 'infermesh-batching-registry-'));
const registry = new ModelRegistry(new FileKvStore(registryDir));
const runtimes: TrackedRuntime[] = [];
const metrics = new Registry();
let worker: Worker;
let client: Client;
let serving: 'v1' | 'v2' = 'v1';

async function trackedRuntime(...args: Parameters<typeof loadModelRuntime>): Promise<TrackedRuntime> {
  const runtime = await loadModelRuntime(...args);
  const calls: number[][] = [];
  let gate: Promise<void> | undefined;
  return {
    platform: runtime.platform,
    inputs: runtime.inputs,
    outputs: runtime.outputs,
    calls,
    async infer(inputs, outputNames) {
      const features = inputs.get('features')!;
      calls.push(Array.from({ length: features.shape[0]! }, (_, row) => (features.data as Float32Array)[row * 4]!));
      if (gate !== undefined) await gate;
      return runtime.infer(inputs, outputNames);
    },
    dispose: () => runtime.dispose(),
    park() {
      let release: () => void = () => undefined;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

before(async () => {
  for (const version of ['v1', 'v2'] as const) await registry.publish(model, version, { uri: artifacts[version].path, sha256: artifacts[version].sha256, metadata: {} });
  await registry.promote(model, 'prod', 'v1');
  const config = loadConfig<WorkerConfig>(WORKER_OPTIONS, {
    overrides: {
      model,
      deployment: 'prod',
      registryDir,
      host: '127.0.0.1',
      port: 0,
      metricsHost: '127.0.0.1',
      metricsPort: 0,
      artifactCacheDir: mkdtempSync(join(tmpdir(), 'infermesh-batching-cache-')),
      maxBatchSize: MAX_BATCH_SIZE,
      maxQueueDelayMs: MAX_QUEUE_DELAY_MS,
    },
  });
  worker = await createWorker(config, {
    logger: createLogger({ service: 'worker', level: 'silent' }),
    registry: metrics,
    serverVersion: 'test',
    events: new InMemoryEventPublisher({ source: 'test' }),
    loadRuntime: async (...args) => {
      const runtime = await trackedRuntime(...args);
      runtimes.push(runtime);
      return runtime;
    },
  });
  await worker.ready;
  client = inferenceClient(`127.0.0.1:${worker.port}`);
});

after(async () => {
  client?.close();
  await worker?.stop();
});

interface Call {
  id: string;
  rows: number[][];
  raw: boolean;
  /** Name the output explicitly (the same list as asking for none). */
  namedOutput: boolean;
  /** setImmediate turns the client waits before sending it. */
  gap: number;
}

let nextId = 0;
const feature = fc.float({ min: -8, max: 8, noNaN: true, noDefaultInfinity: true });
const call = fc.record({
  rows: fc.array(fc.array(feature, { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
  raw: fc.boolean(),
  namedOutput: fc.boolean(),
  gap: fc.integer({ min: 0, max: 3 }),
});
const calls = fc.array(call, { minLength: 1, maxLength: 24 }).map((list) => list.map((entry): Call => ({ ...entry, id: `call-${nextId++}` })));

function inferRequest(entry: Call): object {
  const values = entry.rows.flat();
  const tensor = { name: 'features', datatype: 'FP32', shape: [entry.rows.length, 4] };
  return {
    model_name: model,
    id: entry.id,
    ...(entry.namedOutput ? { outputs: [{ name: 'probability' }] } : {}),
    ...(entry.raw
      ? { inputs: [tensor], raw_input_contents: [Buffer.from(Float32Array.from(values).buffer)] }
      : { inputs: [{ ...tensor, contents: { fp32_contents: values } }] }),
  };
}

function infer(entry: Call): Promise<Record<string, unknown>> {
  return unary(client, 'ModelInfer', inferRequest(entry), 30_000);
}

/** What each call gets alone: sent one after another, so none finds another running. */
async function alone(entries: readonly Call[]): Promise<Record<string, unknown>[]> {
  const responses: Record<string, unknown>[] = [];
  for (const entry of entries) responses.push(await infer(entry));
  return responses;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function inflight(): Promise<number> {
  return (await metrics.getSingleMetric('infermesh_worker_inflight_requests')!.get()).values[0]?.value ?? 0;
}

test('for any interleaving of concurrent calls with any row counts, raw or typed, each response equals what the call gets alone', async () => {
  await fc.assert(
    fc.asyncProperty(calls, async (entries) => {
      const expected = await alone(entries);
      const sent: Promise<Record<string, unknown>>[] = [];
      for (const entry of entries) {
        for (let turn = 0; turn < entry.gap; turn += 1) await tick();
        sent.push(infer(entry));
      }
      const responses = await Promise.all(sent);
      responses.forEach((response, index) => {
        assert.deepEqual(response, expected[index], `response to ${entries[index]!.id}`);
        assert.equal((response.raw_output_contents as Buffer[]).length > 0, entries[index]!.raw, 'the response form is the request form');
      });
    }),
    { numRuns: 30 },
  );
  const batched = await (metrics.getSingleMetric('infermesh_worker_batch_requests') as Histogram).get();
  const sum = batched.values.find((value) => value.metricName === 'infermesh_worker_batch_requests_sum')?.value ?? 0;
  const count = batched.values.find((value) => value.metricName === 'infermesh_worker_batch_requests_count')?.value ?? 0;
  assert.ok(sum > count, `some runtime calls carried several requests (${sum} requests in ${count} calls)`);
  assert.ok(runtimes.every((runtime) => runtime.calls.every((rows) => rows.length <= MAX_BATCH_SIZE)), `no runtime call beyond ${MAX_BATCH_SIZE} rows`);
});

test('a hot swap while calls are queued on the old version never mixes versions: each batch runs on the version its calls leased', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(call, { minLength: 6, maxLength: 6 }), async (generated) => {
      const entries = generated.map((entry): Call => ({ ...entry, id: `swap-${nextId++}` }));
      const [early, late] = [entries.slice(0, 3), entries.slice(3)];
      const from = serving;
      const to = from === 'v1' ? 'v2' : 'v1';
      const expectedFrom = await alone(entries);

      // The first call is held inside the old version; two more queue behind it on that version.
      const old = runtimes[runtimes.length - 1]!;
      const before = old.calls.length;
      const release = old.park();
      const earlyAnswers = early.map((entry) => infer(entry));
      await eventually('three calls in the worker', async () => (await inflight()) === 3);
      await registry.promote(model, 'prod', to);
      await eventually(`${to} serving`, async () => (await unary<{ ready: boolean }>(client, 'ModelReady', { name: model, version: to })).ready, SWAP_TIMEOUT_MS);
      serving = to;
      // The new version answers on its own while the old one still holds its calls.
      const lateAnswers = await Promise.all(late.map((entry) => infer(entry)));
      release();
      const earlyResponses = await Promise.all(earlyAnswers);

      const expectedTo = await alone(entries);
      earlyResponses.forEach((response, index) => assert.deepEqual(response, expectedFrom[index], `${early[index]!.id} computed by ${from}`));
      lateAnswers.forEach((response, index) => assert.deepEqual(response, expectedTo[index + 3], `${late[index]!.id} computed by ${to}`));
      const firstFeature = (entry: Call) => entry.rows.map((row) => Math.fround(row[0]!));
      assert.deepEqual(old.calls.slice(before), [firstFeature(early[0]!), [...firstFeature(early[1]!), ...firstFeature(early[2]!)]], 'the old version ran the held call, then the two queued behind it as one batch');
    }),
    { numRuns: 6 },
  );
});

test('a call whose deadline passes while it is queued leaves the queue and never reaches the model', async () => {
  const current = runtimes[runtimes.length - 1]!;
  const before = current.calls.length;
  const release = current.park();
  const held: Call = { id: 'held', rows: [[1, 2, 3, 4]], raw: false, namedOutput: false, gap: 0 };
  const doomed: Call = { id: 'doomed', rows: [[5, 6, 7, 8]], raw: true, namedOutput: false, gap: 0 };
  const heldAnswer = infer(held);
  await eventually('the held call in the model', () => current.calls.length === before + 1);
  await assert.rejects(unary(client, 'ModelInfer', inferRequest(doomed), 300), (error: CallError) => error.code === status.DEADLINE_EXCEEDED);
  await eventually('the expired call to leave the worker', async () => (await inflight()) === 1);
  release();
  const response = await heldAnswer;
  assert.equal(response.id, 'held');
  assert.deepEqual(current.calls.slice(before), [[1]], 'only the held call reached the model');
  const after = await infer({ ...doomed, id: 'after' });
  assert.equal(after.id, 'after');
});

test('a malformed call sent while others are queued gets its own INVALID_ARGUMENT; the queued calls share one batch and get their answers', async () => {
  const queued = [2, 3].map((first): Call => ({ id: `good-${first}`, rows: [[first, 0.5, -1, 2]], raw: first === 3, namedOutput: false, gap: 0 }));
  const expected = await alone(queued);
  const current = runtimes[runtimes.length - 1]!;
  const before = current.calls.length;
  const release = current.park();
  const heldAnswer = infer({ id: 'held-before-malformed', rows: [[1, 2, 3, 4]], raw: false, namedOutput: false, gap: 0 });
  await eventually('the held call in the model', () => current.calls.length === before + 1);
  const answers = queued.map((entry) => infer(entry));
  await eventually('two calls queued behind it', async () => (await inflight()) === 3);
  const malformed = { model_name: model, id: 'malformed', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [9, 9, 9] } }] };
  await assert.rejects(unary(client, 'ModelInfer', malformed), (error: CallError) => error.code === status.INVALID_ARGUMENT && /features/.test(error.details));
  release();
  assert.equal((await heldAnswer).id, 'held-before-malformed');
  assert.deepEqual(await Promise.all(answers), expected);
  assert.deepEqual(current.calls.slice(before), [[1], [2, 3]], 'the malformed call never reached the model; the queued ones ran together');
});

// Last: it stops the shared worker.
test('stopping the worker while calls are queued behind a running one answers every one of them before it exits', async () => {
  const entries = [1, 2, 3].map((first): Call => ({ id: `draining-${first}`, rows: [[first, -2, 0.25, 1]], raw: first === 2, namedOutput: false, gap: 0 }));
  const expected = await alone(entries);
  const current = runtimes[runtimes.length - 1]!;
  const before = current.calls.length;
  const release = current.park();
  const answers = entries.map((entry) => infer(entry));
  await eventually('one call in the model, two queued', async () => current.calls.length === before + 1 && (await inflight()) === 3);
  const stopped = worker.stop();
  await eventually('the worker refusing new calls', () => refusesNewCalls(`127.0.0.1:${worker.port}`));
  release();
  assert.deepEqual(await Promise.all(answers), expected);
  assert.deepEqual(current.calls.slice(before), [[1], [2, 3]], 'the queued calls ran as one batch after the shutdown began');
  await stopped;
});
