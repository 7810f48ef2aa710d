import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import { ensurePromtool } from '../infra/install-promtool.js';
import { LOGISTIC_BIAS, LOGISTIC_WEIGHTS } from '../fixtures/onnx/fixture-models.js';
import { freshFixtures } from '../support/fixtures-dir.js';
import { inferenceClient, unary } from '../support/proto-client.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

// Workers started through the real CLI, one batching (the defaults) and one with
// --max-batch-size 1, each under 64 concurrent callers over real gRPC connections.

/** Concurrent callers, as the goal counts them. */
const CALLERS = 64;
/** Calls each caller makes one after another. */
const CALLS_PER_CALLER = 8;
/** gRPC connections the callers share (a client per connection, callers spread over them). */
const CONNECTIONS = 4;

interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: string[]; contents: { fp32_contents: number[] } | null }[];
  raw_output_contents: Buffer[];
}

const fixtures = freshFixtures();
const workers: Record<'batching' | 'unbatched', WorkerProcess | undefined> = { batching: undefined, unbatched: undefined };
let promtool: string;

function expectedProbability(row: readonly number[]): number {
  const logit = row.reduce((sum, value, index) => sum + Math.fround(value) * LOGISTIC_WEIGHTS[index]!, LOGISTIC_BIAS);
  return 1 / (1 + Math.exp(-logit));
}

before(async () => {
  promtool = await ensurePromtool();
  const artifact = ['--model', 'churn', '--version', 'v1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256];
  [workers.batching, workers.unbatched] = await Promise.all([startWorkerProcess(artifact), startWorkerProcess([...artifact, '--max-batch-size', '1'])]);
});

after(async () => {
  await Promise.all(Object.values(workers).map((worker) => worker?.stop()));
});

/** Runs 64 callers against `worker`; checks every answer against the model's formula and the form asked. */
async function callConcurrently(worker: WorkerProcess): Promise<number> {
  const clients: Client[] = Array.from({ length: CONNECTIONS }, () => inferenceClient(worker.address));
  let answered = 0;
  try {
    await Promise.all(
      Array.from({ length: CALLERS }, async (_, caller) => {
        const client = clients[caller % CONNECTIONS]!;
        for (let call = 0; call < CALLS_PER_CALLER; call += 1) {
          const rows = Array.from({ length: 1 + ((caller + call) % 4) }, (_, row) => [caller / 8, -call, row, (caller * call) % 5]);
          const raw = (caller + call) % 2 === 0;
          const id = `${caller}-${call}`;
          const tensor = { name: 'features', datatype: 'FP32', shape: [rows.length, 4] };
          const response = await unary<InferResponse>(client, 'ModelInfer', {
            model_name: 'churn',
            id,
            ...(raw ? { inputs: [tensor], raw_input_contents: [Buffer.from(Float32Array.from(rows.flat()).buffer)] } : { inputs: [{ ...tensor, contents: { fp32_contents: rows.flat() } }] }),
          }, 60_000);
          assert.equal(response.id, id);
          assert.equal(response.model_version, 'v1');
          assert.deepEqual(response.outputs[0]?.shape, [String(rows.length), '1']);
          let probabilities: number[];
          if (raw) {
            assert.equal(response.outputs[0]?.contents, null, 'raw in, raw out');
            const bytes = response.raw_output_contents[0]!;
            probabilities = [...new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))];
          } else {
            assert.deepEqual(response.raw_output_contents, [], 'typed in, typed out');
            probabilities = response.outputs[0]!.contents!.fp32_contents;
          }
          assert.equal(probabilities.length, rows.length);
          rows.forEach((row, index) => assert.ok(Math.abs(probabilities[index]! - expectedProbability(row)) < 1e-6, `${id} row ${index}: ${probabilities[index]} vs ${expectedProbability(row)}`));
          answered += 1;
        }
      }),
    );
  } finally {
    for (const client of clients) client.close();
  }
  return answered;
}

async function scrape(worker: WorkerProcess): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`);
  assert.equal(response.status, 200);
  return response.text();
}

/** Value of one sample of the exposition, e.g. `infermesh_worker_batch_requests_count{model="churn"}`. */
function sample(exposition: string, series: string): number {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  assert.ok(line, `no ${series} in the exposition`);
  return Number(line.slice(series.length + 1));
}

test('64 concurrent callers through real gRPC get their own correct answers, in the form they asked, from batched runtime calls', async () => {
  const worker = workers.batching!;
  assert.equal(await callConcurrently(worker), CALLERS * CALLS_PER_CALLER);
  const exposition = await scrape(worker);
  const runtimeCalls = sample(exposition, 'infermesh_worker_batch_requests_count{model="churn"}');
  const requests = sample(exposition, 'infermesh_worker_batch_requests_sum{model="churn"}');
  const alone = sample(exposition, 'infermesh_worker_batch_requests_bucket{le="1",model="churn"}');
  // The warm-up inference does not go through the batcher: every request counted is a caller's.
  assert.equal(requests, CALLERS * CALLS_PER_CALLER);
  assert.ok(alone < runtimeCalls, `some runtime calls carried more than one request (${alone} of ${runtimeCalls} alone)`);
  assert.ok(runtimeCalls < requests, `fewer runtime calls (${runtimeCalls}) than requests (${requests})`);
  assert.ok(sample(exposition, 'infermesh_worker_batch_rows_sum{model="churn"}') > requests, 'rows counted per runtime call');
  assert.equal(sample(exposition, 'infermesh_worker_batch_queue_delay_seconds_count{model="churn"}'), requests, 'every request has its queue delay');
  const check = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  assert.deepEqual({ code: check.status, output: `${check.stdout}${check.stderr}`.trim() }, { code: 0, output: '' }, 'promtool accepts the batching metrics');
});

test('--max-batch-size 1: the same callers, every runtime call carries one request', async () => {
  const worker = workers.unbatched!;
  assert.equal(await callConcurrently(worker), CALLERS * CALLS_PER_CALLER);
  const exposition = await scrape(worker);
  const runtimeCalls = sample(exposition, 'infermesh_worker_batch_requests_count{model="churn"}');
  assert.equal(runtimeCalls, CALLERS * CALLS_PER_CALLER);
  assert.equal(sample(exposition, 'infermesh_worker_batch_requests_bucket{le="1",model="churn"}'), runtimeCalls);
});
