import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { ensurePythonClient } from '../compat/ensure-python-client.js';
import { freshFixtures } from '../support/fixtures-dir.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const CHECK_SCRIPT = fileURLToPath(new URL('../compat/triton_client_check.py', import.meta.url));

interface Observed {
  live: boolean;
  ready: boolean;
  model_ready: boolean;
  metadata: { name: string; versions: string[]; platform: string; inputs: unknown[]; outputs: unknown[] };
  probability: number[][];
  response: { model_name: string; model_version: string; id: string };
  wrong_shape_error: { status: string; message: string } | null;
  ints: { counts_plus_one: number[][]; ids_times_two: string[]; flags_negated: boolean[]; labels_echo: string[] };
}

const fixtures = freshFixtures();
const workers: WorkerProcess[] = [];
let observed: Observed;

before(async () => {
  const python = ensurePythonClient((line) => console.log(line));
  const [logistic, integers] = await Promise.all([
    startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256]),
    startWorkerProcess(['--model', 'ints', '--version', '1', '--artifact', fixtures.integers.uri, '--sha256', fixtures.integers.sha256]),
  ]);
  workers.push(logistic, integers);
  const { stdout } = await promisify(execFile)(python, [CHECK_SCRIPT, logistic.address, integers.address]);
  observed = JSON.parse(stdout) as Observed;
});

after(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
});

test("Triton's gRPC client sees a live, ready server and reads model metadata", () => {
  assert.equal(observed.live, true);
  assert.equal(observed.ready, true);
  assert.equal(observed.model_ready, true);
  assert.equal(observed.metadata.name, 'churn');
  assert.deepEqual(observed.metadata.versions, ['v1']);
  assert.equal(observed.metadata.platform, 'onnxruntime_onnx');
  assert.deepEqual(observed.metadata.inputs, [{ name: 'features', datatype: 'FP32', shape: ['-1', '4'] }]);
});

test("Triton's gRPC client runs inference with numpy arrays (raw contents) and gets the right numbers", () => {
  assert.equal(observed.response.model_name, 'churn');
  assert.equal(observed.response.model_version, 'v1');
  assert.equal(observed.response.id, 'triton-1');
  assert.ok(Math.abs((observed.probability[0]?.[0] ?? NaN) - 0.401312) < 1e-5);
  assert.ok(Math.abs((observed.probability[1]?.[0] ?? NaN) - 0.809998) < 1e-5);
});

test("Triton's gRPC client gets INVALID_ARGUMENT with the expected shape for a wrong shape", () => {
  assert.equal(observed.wrong_shape_error?.status, 'StatusCode.INVALID_ARGUMENT');
  assert.match(observed.wrong_shape_error?.message ?? '', /expected FP32 \[-1,4\]/);
});

test("Triton's gRPC client round-trips INT32, INT64 beyond 2^53, BOOL and BYTES", () => {
  assert.deepEqual(observed.ints.counts_plus_one, [[2, 3], [4, 5]]);
  assert.deepEqual(observed.ints.ids_times_two, [(2n ** 61n).toString(), '-6']);
  assert.deepEqual(observed.ints.flags_negated, [false, true]);
  assert.deepEqual(observed.ints.labels_echo, ['café', '']);
});
