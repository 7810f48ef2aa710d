import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { CallCancellation, createLogger, InfermeshError, type Tensor } from '@infermesh/shared';
import { Registry } from 'prom-client';
import { WorkerMetrics } from '../metrics/worker-metrics.js';
import { ModelSlot } from '../reload/model-slot.js';
import type { LoadedModel } from '../runtime/loaded-model.js';
import { loadLookupRuntime } from '../runtime/lookup-model-runtime.js';
import type { ModelRuntime } from '../runtime/model-runtime.js';
import { DynamicBatcher, type BatchRequest, type DynamicBatcherOptions } from './dynamic-batcher.js';

// The model is the real lookup runtime (a table per version, so answers tell versions apart),
// behind a wrapper that records every runtime call and, like onnxruntime-node, computes in a
// setImmediate callback, or holds calls until the test releases them.

const tables = mkdtempSync(join(tmpdir(), 'infermesh-batcher-'));
/** Keys of every table; keys above it are missing (answer `null`, found false). */
const TABLE_KEYS = 20;

const written = new Set<string>();

function tablePath(version: string): string {
  const path = join(tables, `${version}.jsonl`);
  if (!written.has(path)) writeFileSync(path, Array.from({ length: TABLE_KEYS }, (_, index) => JSON.stringify({ id: index + 1, answer: `${version}:${index + 1}` })).join('\n'));
  written.add(path);
  return path;
}

interface RuntimeCall {
  keys: bigint[];
  outputNames: readonly string[];
}

interface TestModel {
  model: LoadedModel;
  /** Every runtime call, in order. */
  calls: RuntimeCall[];
  /** Holds runtime calls from now on until the returned function is called. */
  park(): () => void;
}

interface TestModelOptions {
  /** A key the model fails on (alone or in a batch), as a model fails on a value it cannot take. */
  poison?: bigint;
  /** Answers one row whatever the rows asked: outputs not per row despite the declared batch dimension. */
  pooled?: boolean;
  /** Declares a fixed first dimension of 1: no batch dimension. */
  fixedBatch?: boolean;
}

async function testModel(version: string, options: TestModelOptions = {}): Promise<TestModel> {
  const inner = await loadLookupRuntime(tablePath(version), 'id');
  const calls: RuntimeCall[] = [];
  let gate: Promise<void> | undefined;
  const runtime: ModelRuntime = {
    platform: inner.platform,
    inputs: options.fixedBatch ? inner.inputs.map((spec) => ({ ...spec, shape: [1] })) : inner.inputs,
    outputs: inner.outputs,
    async infer(inputs, outputNames) {
      const keys = [...(inputs.get('id')!.data as BigInt64Array)];
      calls.push({ keys, outputNames });
      await (gate ?? new Promise((resolve) => setImmediate(resolve)));
      if (options.poison !== undefined && keys.includes(options.poison)) throw new Error(`cannot take key ${options.poison}`);
      const outputs = await inner.infer(inputs, outputNames);
      return options.pooled ? outputs.map((tensor) => ({ ...tensor, shape: [1], data: tensor.data.slice(0, 1) as Tensor['data'] })) : outputs;
    },
    dispose: () => inner.dispose(),
  };
  return {
    model: { name: 'similar', version, runtime },
    calls,
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

function request(keys: readonly number[], outputNames: readonly string[] = ['value', 'found'], cancellation?: CallCancellation): BatchRequest {
  return {
    inputs: new Map([['id', { name: 'id', datatype: 'INT64' as const, shape: [keys.length], data: BigInt64Array.from(keys, BigInt) }]]),
    outputNames,
    ...(cancellation ? { cancellation } : {}),
  };
}

function batcher(overrides: Partial<DynamicBatcherOptions> = {}): { batcher: DynamicBatcher; metrics: WorkerMetrics } {
  const metrics = new WorkerMetrics(new Registry());
  const options: DynamicBatcherOptions = {
    maxBatchSize: 64,
    maxQueueDelayMs: 60_000,
    metrics,
    logger: createLogger({ service: 'worker', level: 'silent' }),
    now: () => performance.now(),
    ...overrides,
  };
  return { batcher: new DynamicBatcher(options), metrics };
}

/** What `keys` answer alone on a fresh, unwrapped runtime of `version`. */
async function solo(version: string, keys: readonly number[], outputNames: readonly string[] = ['value', 'found']): Promise<Tensor[]> {
  const runtime = await loadLookupRuntime(tablePath(version), 'id');
  try {
    return await runtime.infer(request(keys).inputs, outputNames);
  } finally {
    await runtime.dispose();
  }
}

const callKeys = (calls: readonly RuntimeCall[]) => calls.map((call) => call.keys.map(Number));

after(() => rmSync(tables, { recursive: true, force: true }));

describe("Nagle's rule", () => {
  test('an idle model runs a call at once; one call after another, each runs alone', async () => {
    const { batcher: subject } = batcher();
    const { model, calls } = await testModel('v1');
    const answer = subject.infer(model, request([1]));
    assert.equal(calls.length, 1, 'the runtime was called before infer() returned: no wait');
    assert.deepEqual(await answer, await solo('v1', [1]));
    for (const key of [2, 3, 4]) await subject.infer(model, request([key]));
    assert.deepEqual(callKeys(calls), [[1], [2], [3], [4]]);
  });

  test('calls that arrive while one runs go together in the next runtime call, each answered with its own rows', async () => {
    const { batcher: subject, metrics } = batcher();
    const { model, calls } = await testModel('v1');
    const keys = [[1], [2, 3], [21], [4, 5, 6], [7]];
    const answers = await Promise.all(keys.map((rows) => subject.infer(model, request(rows))));
    assert.deepEqual(callKeys(calls), [[1], [2, 3, 21, 4, 5, 6, 7]]);
    for (const [index, rows] of keys.entries()) assert.deepEqual(answers[index], await solo('v1', rows));
    const requests = await metrics.batchRequests.get();
    assert.equal(requests.values.find((value) => value.metricName === 'infermesh_worker_batch_requests_sum')?.value, 5);
    assert.equal(requests.values.find((value) => value.metricName === 'infermesh_worker_batch_requests_count')?.value, 2);
  });

  test('a runtime call carries at most --max-batch-size rows; a larger call runs alone', async () => {
    const { batcher: subject } = batcher({ maxBatchSize: 4 });
    const { model, calls } = await testModel('v1');
    const keys = [[1], [2], [3, 4], [5], [6, 7, 8, 9, 10], [11], [12, 13, 14], [15]];
    const answers = await Promise.all(keys.map((rows) => subject.infer(model, request(rows))));
    for (const [index, rows] of keys.entries()) assert.deepEqual(answers[index], await solo('v1', rows));
    // A queue goes as soon as it holds 4 rows, even while another call runs; the 5-row call never waits.
    assert.deepEqual(callKeys(calls), [[1], [2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14], [15]]);
  });

  test('a queued call waits no longer than --max-queue-delay-ms for the running call: then it runs anyway', async () => {
    const { batcher: subject } = batcher({ maxQueueDelayMs: 5 });
    const { model, calls, park } = await testModel('v1');
    const release = park();
    const first = subject.infer(model, request([1]));
    const second = subject.infer(model, request([2]));
    assert.equal(calls.length, 1, 'the second call queued behind the first');
    await eventually(() => calls.length === 2);
    assert.deepEqual(callKeys(calls), [[1], [2]], 'it ran while the first was still held');
    release();
    assert.deepEqual(await first, await solo('v1', [1]));
    assert.deepEqual(await second, await solo('v1', [2]));
  });
});

describe('calls that cannot share a runtime call', () => {
  test('calls asking for different outputs run in separate runtime calls, each with its own', async () => {
    const { batcher: subject } = batcher();
    const { model, calls } = await testModel('v1');
    const plan: [number[], string[]][] = [[[1], ['value']], [[2], ['value']], [[3], ['found']], [[4], ['value']], [[5], ['found', 'value']]];
    const answers = await Promise.all(plan.map(([rows, outputs]) => subject.infer(model, request(rows, outputs))));
    for (const [index, [rows, outputs]] of plan.entries()) assert.deepEqual(answers[index], await solo('v1', rows, outputs));
    // Oldest queue first once the running call ends: the 'value' calls together, then each other list alone.
    assert.deepEqual(callKeys(calls), [[1], [2, 4], [3], [5]]);
    assert.deepEqual(calls.map((call) => call.outputNames.join()), ['value', 'value', 'found', 'found,value']);
  });

  test('a model without a batch dimension is never batched', async () => {
    const { batcher: subject } = batcher();
    const { model, calls } = await testModel('v1', { fixedBatch: true });
    await Promise.all([1, 2, 3, 4].map((key) => subject.infer(model, request([key]))));
    assert.deepEqual(callKeys(calls), [[1], [2], [3], [4]]);
  });

  test('--max-batch-size 1 turns batching off', async () => {
    const { batcher: subject } = batcher({ maxBatchSize: 1 });
    const { model, calls } = await testModel('v1');
    await Promise.all([1, 2, 3, 4].map((key) => subject.infer(model, request([key]))));
    assert.deepEqual(callKeys(calls), [[1], [2], [3], [4]]);
  });
});

describe('failures and cancellations', () => {
  test('a batch the model fails is retried call by call: only the call with the bad value fails', async () => {
    const { batcher: subject, metrics } = batcher();
    const { model, calls } = await testModel('v1', { poison: 13n });
    const keys = [[1], [2], [3, 13], [4]];
    const settled = await Promise.allSettled(keys.map((rows) => subject.infer(model, request(rows))));
    assert.deepEqual(settled.map((result) => result.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.match(((settled[2] as PromiseRejectedResult).reason as Error).message, /cannot take key 13/);
    for (const index of [0, 1, 3]) assert.deepEqual((settled[index] as PromiseFulfilledResult<Tensor[]>).value, await solo('v1', keys[index]!));
    assert.deepEqual(callKeys(calls), [[1], [2, 3, 13, 4], [2], [3, 13], [4]]);
    const fallbacks = await metrics.batchFallbacks.get();
    assert.deepEqual(fallbacks.values.map((value) => [value.labels.reason, value.value]), [['batch_failed', 1]]);
  });

  test('a model that answers one row for a batch is retried call by call and not batched again', async () => {
    const { batcher: subject } = batcher();
    const { model, calls } = await testModel('v1', { pooled: true });
    await Promise.all([1, 2, 3].map((key) => subject.infer(model, request([key]))));
    assert.deepEqual(callKeys(calls), [[1], [2, 3], [2], [3]]);
    const answers = await Promise.all([4, 5, 6].map((key) => subject.infer(model, request([key]))));
    assert.deepEqual(callKeys(calls).slice(4), [[4], [5], [6]]);
    for (const [index, key] of [4, 5, 6].entries()) assert.deepEqual(answers[index], await solo('v1', [key]));
  });

  test('a call cancelled while queued leaves the queue and never reaches the model; its neighbours are unaffected', async () => {
    const { batcher: subject } = batcher();
    const { model, calls, park } = await testModel('v1');
    const release = park();
    const cancellation = new CallCancellation();
    const first = subject.infer(model, request([1]));
    const queued = [subject.infer(model, request([2])), subject.infer(model, request([3], undefined, cancellation)), subject.infer(model, request([4]))];
    const reason = new InfermeshError('DEADLINE_EXCEEDED', 'the deadline passed');
    cancellation.cancel(reason);
    await assert.rejects(queued[1]!, (error) => error === reason);
    release();
    await first;
    assert.deepEqual(await queued[0], await solo('v1', [2]));
    assert.deepEqual(await queued[2], await solo('v1', [4]));
    assert.deepEqual(callKeys(calls), [[1], [2, 4]]);
    await assert.rejects(subject.infer(model, request([5], undefined, cancellation)), (error) => error === reason, 'an already cancelled call is refused');
    assert.equal(calls.length, 2);
  });

  test('a call cancelled while its batch runs is not run again when the batch fails; the others are retried alone', async () => {
    const { batcher: subject } = batcher();
    const { model, calls, park } = await testModel('v1', { poison: 13n });
    const releaseFirst = park();
    const first = subject.infer(model, request([1]));
    const cancellation = new CallCancellation();
    const queued = [subject.infer(model, request([2])), subject.infer(model, request([13])), subject.infer(model, request([4], undefined, cancellation))];
    releaseFirst();
    // Held again: the batch of the three queued calls starts and waits inside the model.
    const releaseBatch = park();
    await first;
    await eventually(() => calls.length === 2);
    const reason = new InfermeshError('DEADLINE_EXCEEDED', 'the client cancelled the call');
    cancellation.cancel(reason);
    releaseBatch();
    const settled = await Promise.allSettled(queued);
    assert.deepEqual((settled[0] as PromiseFulfilledResult<Tensor[]>).value, await solo('v1', [2]));
    assert.match(((settled[1] as PromiseRejectedResult).reason as Error).message, /cannot take key 13/);
    assert.equal((settled[2] as PromiseRejectedResult).reason, reason);
    assert.deepEqual(callKeys(calls), [[1], [2, 13, 4], [2], [13]]);
  });
});

type Step = { kind: 'call'; keys: number[]; outputs: readonly string[] } | { kind: 'tick' } | { kind: 'swap' };

const steps = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('call' as const), keys: fc.array(fc.integer({ min: 1, max: TABLE_KEYS + 3 }), { minLength: 1, maxLength: 6 }), outputs: fc.constantFrom(['value', 'found'], ['value'], ['found', 'value']) }) },
    { weight: 2, arbitrary: fc.constant<Step>({ kind: 'tick' }) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'swap' }) },
  ),
  { minLength: 1, maxLength: 40 },
);

test('for any interleaving of calls, ticks and hot swaps, each call gets what it gets alone from the version that leased it', async () => {
  await fc.assert(
    fc.asyncProperty(steps, fc.integer({ min: 1, max: 12 }), async (plan, maxBatchSize) => {
      const { batcher: subject } = batcher({ maxBatchSize, maxQueueDelayMs: 1 });
      const slot = new ModelSlot();
      const models: TestModel[] = [];
      const swapIn = async () => {
        const next = await testModel(`v${models.length}`);
        models.push(next);
        slot.swap(next.model);
      };
      await swapIn();
      const answers: Promise<{ version: string; keys: number[]; outputs: readonly string[]; answer: Tensor[] }>[] = [];
      for (const step of plan) {
        if (step.kind === 'swap') await swapIn();
        else if (step.kind === 'tick') await new Promise((resolve) => setImmediate(resolve));
        else {
          // As the inference service does: the call leases the serving model and holds it until answered.
          const lease = slot.acquire()!;
          answers.push(
            subject
              .infer(lease.model, request(step.keys, step.outputs))
              .then((answer) => ({ version: lease.model.version, keys: step.keys, outputs: step.outputs, answer }))
              .finally(() => lease.release()),
          );
        }
      }
      for (const { version, keys, outputs, answer } of await Promise.all(answers)) {
        assert.deepEqual(answer, await solo(version, keys, outputs), `${version} ${keys}`);
      }
      const alone = (keys: readonly bigint[]) => plan.some((step) => step.kind === 'call' && step.keys.join() === keys.join());
      for (const { calls } of models) {
        for (const call of calls) assert.ok(call.keys.length <= maxBatchSize || alone(call.keys), `a runtime call of ${call.keys.length} rows exceeds ${maxBatchSize} and is not one call alone`);
      }
      await slot.close();
    }),
    { numRuns: 60 },
  );
});

async function eventually(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
