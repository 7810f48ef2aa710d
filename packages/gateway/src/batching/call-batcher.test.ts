import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeInferOutputs, encodeInferInputs, InfermeshError, type ModelInferRequest, type ModelInferResponse__Output, type Tensor } from '@infermesh/shared';
import { Registry } from 'prom-client';
import type { PoolCallResult } from '../pools/worker-pool.js';
import { BatchMetrics } from './batch-metrics.js';
import { CallBatcher, type BatchCall } from './call-batcher.js';

/** A worker that answers each row's sum, after `delayMs`; records the rows of every call. */
function sumWorker(delayMs: number, refuse: (rows: number[]) => boolean = () => false) {
  const calls: number[][] = [];
  const call = async (request: ModelInferRequest): Promise<PoolCallResult> => {
    const decoded = decodeInferOutputs({ outputs: request.inputs!.map((input) => ({ ...input, shape: input.shape!.map(String), parameters: {}, contents: null })), rawOutputContents: request.rawInputContents as Buffer[] } as unknown as ModelInferResponse__Output);
    const features = decoded[0]!;
    const width = features.shape[1]!;
    const sums = Array.from({ length: features.shape[0]! }, (_, row) => Array.from(features.data as Float32Array).slice(row * width, (row + 1) * width).reduce((a, b) => a + b, 0));
    calls.push(sums);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (refuse(sums)) throw new InfermeshError('INFERENCE_FAILED', 'the model refused a value');
    const output: Tensor = { name: 'sum', datatype: 'FP32', shape: [sums.length, 1], data: Float32Array.from(sums) };
    const encoded = encodeInferInputs([output]);
    return {
      response: { modelName: 'm', modelVersion: 'v1', id: '', parameters: {}, outputs: encoded.inputs!.map((spec) => ({ ...spec, shape: spec.shape!.map(String), parameters: {}, contents: null })), rawOutputContents: encoded.rawInputContents as Buffer[] } as unknown as ModelInferResponse__Output,
      instance: { id: 'w', address: 'w:1', meta: {} },
      attempts: 1,
    };
  };
  return { calls, call };
}

function batcher(worker: ReturnType<typeof sumWorker>, options: { slots?: number; maxRows?: number; maxDelayMs?: number } = {}) {
  return new CallBatcher({
    workerModel: 'm',
    model: 'm',
    maxBatchRows: options.maxRows ?? 64,
    maxDelayMs: options.maxDelayMs ?? 50,
    slots: () => options.slots ?? 1,
    call: worker.call,
    metrics: new BatchMetrics(new Registry()),
    elapsed: () => performance.now(),
  });
}

const request = (values: number[], rows = 1): BatchCall => ({
  tensors: [{ name: 'features', datatype: 'FP32', shape: [rows, values.length / rows], data: Float32Array.from(values) }],
  outputs: [],
  deadline: new Date(Date.now() + 5_000),
  requestId: 'r',
});
const sumOf = (answer: { outputs: Tensor[] }) => Array.from(answer.outputs[0]!.data as Float32Array);

test('concurrent predictions share calls, and each gets exactly its own answer', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 40 }), async (rows) => {
      const worker = sumWorker(2);
      const shared = batcher(worker);
      const answers = await Promise.all(rows.map((values) => shared.infer(request(values))));
      answers.forEach((answer, index) => assert.deepEqual(sumOf(answer), [rows[index]!.reduce((a, b) => a + b, 0)]));
      assert.equal(worker.calls.flat().length, rows.length, 'every row went to the worker exactly once');
      if (rows.length > 2) assert.ok(worker.calls.length < rows.length, `${rows.length} predictions in ${worker.calls.length} calls`);
    }),
    { numRuns: 40 },
  );
});

test('at light load nothing waits: one prediction at a time goes out alone', async () => {
  const worker = sumWorker(1);
  const shared = batcher(worker, { maxDelayMs: 10_000 });
  for (let index = 0; index < 20; index += 1) assert.deepEqual(sumOf(await shared.infer(request([index, 1, 1]))), [index + 2]);
  assert.deepEqual(worker.calls.map((call) => call.length), Array(20).fill(1));
});

test('no call carries more rows than the bound, and free instances are used before anything waits', async () => {
  const worker = sumWorker(5);
  const shared = batcher(worker, { slots: 2, maxRows: 4 });
  await Promise.all(Array.from({ length: 30 }, (_, index) => shared.infer(request([index, 0, 0]))));
  assert.ok(worker.calls.every((call) => call.length <= 4), worker.calls.map((call) => call.length).join(','));
  assert.deepEqual(worker.calls.slice(0, 2).map((call) => call.length), [1, 1], 'two free instances: the first two go alone');
});

test('a batch the model refuses is re-sent one by one: only the bad prediction fails', async () => {
  const worker = sumWorker(3, (sums) => sums.includes(666));
  const shared = batcher(worker);
  const results = await Promise.allSettled([request([1, 1, 1]), request([600, 60, 6]), request([2, 2, 2]), request([3, 3, 3])].map((call) => shared.infer(call)));
  assert.deepEqual(results.map((result) => result.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  assert.equal((results[1] as PromiseRejectedResult).reason.code, 'INFERENCE_FAILED');
});

test('a model without a batch dimension (every batch refused, every prediction fine alone) stops being batched', async () => {
  const worker = sumWorker(2, (sums) => sums.length > 1);
  const shared = batcher(worker);
  await Promise.all(Array.from({ length: 6 }, (_, index) => shared.infer(request([index, 0, 0]))));
  const before = worker.calls.length;
  const answers = await Promise.all(Array.from({ length: 6 }, (_, index) => shared.infer(request([index, 1, 0]))));
  assert.deepEqual(answers.map(sumOf), Array.from({ length: 6 }, (_, index) => [index + 1]));
  assert.ok(worker.calls.slice(before).every((call) => call.length === 1), 'afterwards every call carries one prediction');
});
