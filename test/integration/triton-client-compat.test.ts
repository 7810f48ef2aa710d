import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { FileKvStore } from '@infermesh/shared';
import { ensurePythonClient } from '../compat/ensure-python-client.js';
import { LOGISTIC_BIAS, LOGISTIC_WEIGHTS } from '../fixtures/onnx/fixture-models.js';
import { freshFixtures } from '../support/fixtures-dir.js';
import { eventually } from '../support/load-generator.js';
import { startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

const CHECK_SCRIPT = fileURLToPath(new URL('../compat/triton_client_check.py', import.meta.url));
const HTTP_CHECK_SCRIPT = fileURLToPath(new URL('../compat/triton_http_client_check.py', import.meta.url));
/** The gateway's body limit here, bytes: small, so an inflated request can exceed it cheaply. */
const MAX_BODY_BYTES = 64 * 1024;

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

type OutputForm = 'binary' | 'json' | 'both' | 'none';

interface ObservedInts {
  counts_plus_one: number[][];
  ids_times_two: string[];
  flags_negated: boolean[];
  labels_echo: string[];
  forms: Record<string, OutputForm>;
}

/** What Triton's HTTP client saw through the gateway (test/compat/triton_http_client_check.py). */
interface ObservedHttp {
  live: boolean;
  ready: boolean;
  model_ready: boolean;
  server_metadata: { name: string; extensions: string[] };
  metadata: { name: string; versions: string[]; platform: string; inputs: unknown[] };
  default: { probability: number[][]; response: { model_name: string; model_version: string; id: string; outputs: { name: string; parameters?: { binary_data_size?: number } }[] }; form: OutputForm };
  json: { probability: number[][]; form: OutputForm };
  compressed: Record<'gzip' | 'deflate', number[][]>;
  wrong_shape_error: { status: string; message: string } | null;
  ints_default: ObservedInts;
  ints_mixed: ObservedInts;
}

const fixtures = freshFixtures();
const workers: WorkerProcess[] = [];
let gateway: WorkerProcess | undefined;
let base: string;
let grpcObserved: Observed | Error;
let httpObserved: ObservedHttp | Error;

/** What a check script saw; its failure fails only the tests that read it. */
function seen<T>(value: T | Error | undefined): T {
  if (value === undefined || value instanceof Error) throw value ?? new Error('the check did not run');
  return value;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const expected = (row: number[]) => sigmoid(row.reduce((sum, value, index) => sum + value * (LOGISTIC_WEIGHTS[index] ?? 0), LOGISTIC_BIAS));
const EXPECTED_PROBABILITY = [expected([0.5, 1, 2, 0.1]), expected([1, 1, 1, 1])];

/** Gateway configs for the two models; v2 REST only needs the pool, the tensors serve v1. */
async function writeConfigs(registryDir: string, logistic: WorkerProcess, integers: WorkerProcess): Promise<void> {
  const kv = new FileKvStore(registryDir);
  await kv.compareAndSet('models/churn/config', JSON.stringify(logisticModelConfig({ static: [logistic.address] }, { deadlineMs: 5_000 })), 0);
  await kv.compareAndSet('models/ints/config', JSON.stringify({
    inputs: { a: { type: 'integer' }, b: { type: 'integer' } },
    tensors: { counts: { datatype: 'INT32', shape: [2], from: ['inputs.a', 'inputs.b'] } },
    deadlineMs: 5_000,
    pool: { static: [integers.address] },
  }), 0);
}

before(async () => {
  const python = ensurePythonClient((line) => console.log(line));
  const [logistic, integers] = await Promise.all([
    startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256]),
    startWorkerProcess(['--model', 'ints', '--version', '1', '--artifact', fixtures.integers.uri, '--sha256', fixtures.integers.sha256]),
  ]);
  workers.push(logistic, integers);
  const registryDir = mkdtempSync(join(tmpdir(), 'triton-compat-registry-'));
  await writeConfigs(registryDir, logistic, integers);
  gateway = await startGatewayProcess(['--registry-dir', registryDir, '--max-body-bytes', String(MAX_BODY_BYTES)]);
  base = `http://127.0.0.1:${gateway.port}`;
  await eventually('gateway ready for both models', async () => (await fetch(`${base}/v2/health/ready`)).status === 200);
  // Settled separately: a failing HTTP check must not hide what the gRPC check saw, nor the reverse.
  const [grpcRun, httpRun] = await Promise.allSettled([
    promisify(execFile)(python, [CHECK_SCRIPT, logistic.address, integers.address]),
    promisify(execFile)(python, [HTTP_CHECK_SCRIPT, `127.0.0.1:${gateway.port}`]),
  ]);
  grpcObserved = grpcRun.status === 'fulfilled' ? (JSON.parse(grpcRun.value.stdout) as Observed) : grpcRun.reason;
  httpObserved = httpRun.status === 'fulfilled' ? (JSON.parse(httpRun.value.stdout) as ObservedHttp) : httpRun.reason;
});

after(async () => {
  await gateway?.stop();
  await Promise.all(workers.map((worker) => worker.stop()));
});

test("Triton's gRPC client sees a live, ready server and reads model metadata", () => {
  const observed = seen(grpcObserved);
  assert.equal(observed.live, true);
  assert.equal(observed.ready, true);
  assert.equal(observed.model_ready, true);
  assert.equal(observed.metadata.name, 'churn');
  assert.deepEqual(observed.metadata.versions, ['v1']);
  assert.equal(observed.metadata.platform, 'onnxruntime_onnx');
  assert.deepEqual(observed.metadata.inputs, [{ name: 'features', datatype: 'FP32', shape: ['-1', '4'] }]);
});

test("Triton's gRPC client runs inference with numpy arrays (raw contents) and gets the right numbers", () => {
  const observed = seen(grpcObserved);
  assert.equal(observed.response.model_name, 'churn');
  assert.equal(observed.response.model_version, 'v1');
  assert.equal(observed.response.id, 'triton-1');
  assert.ok(Math.abs((observed.probability[0]?.[0] ?? NaN) - 0.401312) < 1e-5);
  assert.ok(Math.abs((observed.probability[1]?.[0] ?? NaN) - 0.809998) < 1e-5);
});

test("Triton's gRPC client gets INVALID_ARGUMENT with the expected shape for a wrong shape", () => {
  const observed = seen(grpcObserved);
  assert.equal(observed.wrong_shape_error?.status, 'StatusCode.INVALID_ARGUMENT');
  assert.match(observed.wrong_shape_error?.message ?? '', /expected FP32 \[-1,4\]/);
});

test("Triton's gRPC client round-trips INT32, INT64 beyond 2^53, BOOL and BYTES", () => {
  const observed = seen(grpcObserved);
  assert.deepEqual(observed.ints.counts_plus_one, [[2, 3], [4, 5]]);
  assert.deepEqual(observed.ints.ids_times_two, [(2n ** 61n).toString(), '-6']);
  assert.deepEqual(observed.ints.flags_negated, [false, true]);
  assert.deepEqual(observed.ints.labels_echo, ['café', '']);
});

test("Triton's HTTP client sees a live, ready gateway with the binary tensor data extension and reads model metadata", () => {
  const observedHttp = seen(httpObserved);
  assert.equal(observedHttp.live, true);
  assert.equal(observedHttp.ready, true);
  assert.equal(observedHttp.model_ready, true);
  assert.ok(observedHttp.server_metadata.extensions.includes('binary_tensor_data'));
  assert.equal(observedHttp.metadata.name, 'churn');
  assert.deepEqual(observedHttp.metadata.versions, ['v1']);
  assert.deepEqual(observedHttp.metadata.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
});

function assertProbabilities(actual: number[][], what: string): void {
  assert.equal(actual.length, 2, what);
  actual.forEach((row, index) => assert.ok(Math.abs((row[0] ?? NaN) - EXPECTED_PROBABILITY[index]!) < 1e-6, `${what}: row ${index} is ${row[0]}`));
}

test("Triton's HTTP client with default settings sends binary inputs and gets every output binary, with the right numbers", () => {
  const observedHttp = seen(httpObserved);
  assertProbabilities(observedHttp.default.probability, 'default settings');
  assert.equal(observedHttp.default.form, 'binary');
  assert.equal(observedHttp.default.response.model_name, 'churn');
  assert.equal(observedHttp.default.response.model_version, 'v1');
  assert.equal(observedHttp.default.response.id, 'http-1');
  assert.equal(observedHttp.default.response.outputs[0]?.parameters?.binary_data_size, 8);
});

test("Triton's HTTP client with JSON inputs and JSON outputs, and with gzip or deflate request bodies, gets the same numbers", () => {
  const observedHttp = seen(httpObserved);
  assertProbabilities(observedHttp.json.probability, 'JSON');
  assert.equal(observedHttp.json.form, 'json');
  assertProbabilities(observedHttp.compressed.gzip, 'gzip request');
  assertProbabilities(observedHttp.compressed.deflate, 'deflate request');
});

test("Triton's HTTP client round-trips INT32, INT64 beyond 2^53, BOOL and UTF-8/empty BYTES through the gateway, binary and mixed", () => {
  const observedHttp = seen(httpObserved);
  for (const [what, ints] of [['binary', observedHttp.ints_default], ['mixed', observedHttp.ints_mixed]] as const) {
    assert.deepEqual(ints.counts_plus_one, [[2, 3], [4, 5]], what);
    assert.deepEqual(ints.ids_times_two, [(2n ** 61n).toString(), '-6'], what);
    assert.deepEqual(ints.flags_negated, [false, true], what);
    assert.deepEqual(ints.labels_echo, ['café', ''], what);
  }
  assert.deepEqual(observedHttp.ints_default.forms, { counts_plus_one: 'binary', ids_times_two: 'binary', flags_negated: 'binary', labels_echo: 'binary' });
  assert.deepEqual(observedHttp.ints_mixed.forms, { counts_plus_one: 'binary', ids_times_two: 'binary', flags_negated: 'json', labels_echo: 'json' });
});

test("Triton's HTTP client gets a 400 InferenceServerException naming the input for a wrong shape", () => {
  const observedHttp = seen(httpObserved);
  assert.equal(observedHttp.wrong_shape_error?.status, '400');
  assert.match(observedHttp.wrong_shape_error?.message ?? '', /features/);
  assert.match(observedHttp.wrong_shape_error?.message ?? '', /expected FP32 \[-1,4\]/);
});

describe('the v2 inference route on the wire', () => {
  const features = () => {
    const bytes = Buffer.alloc(16);
    [0.5, 1, 2, 0.1].forEach((value, index) => bytes.writeFloatLE(value, index * 4));
    return bytes;
  };
  const binaryRequest = (outputs?: object[]) => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }], ...(outputs ? { outputs } : { parameters: { binary_data_output: true } }) }));
    return { body: Buffer.concat([header, features()]), headerLength: String(header.length) };
  };
  const post = (body: Uint8Array | string, headers: Record<string, string>) => fetch(`${base}/v2/models/churn/infer`, { method: 'POST', headers, body });

  test('a binary answer carries Inference-Header-Content-Length and application/octet-stream, then the output bytes', async () => {
    const { body, headerLength } = binaryRequest();
    const response = await post(body, { 'inference-header-content-length': headerLength, 'content-type': 'application/octet-stream' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    const bytes = Buffer.from(await response.arrayBuffer());
    const jsonLength = Number(response.headers.get('inference-header-content-length'));
    const header = JSON.parse(bytes.subarray(0, jsonLength).toString('utf8')) as { outputs: { name: string; data?: unknown; parameters: { binary_data_size: number } }[] };
    assert.equal(header.outputs[0]?.parameters.binary_data_size, 4);
    assert.equal(header.outputs[0]?.data, undefined);
    assert.equal(bytes.length, jsonLength + 4);
    assert.ok(Math.abs(bytes.readFloatLE(jsonLength) - EXPECTED_PROBABILITY[0]!) < 1e-6);
  });

  test('a body without Content-Type is JSON, and with no binary output the answer is plain JSON', async () => {
    const response = await post(new TextEncoder().encode(JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [0.5, 1, 2, 0.1] }] })), {});
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.headers.get('inference-header-content-length'), null);
    const body = (await response.json()) as { outputs: { data: number[] }[] };
    assert.ok(Math.abs((body.outputs[0]?.data[0] ?? NaN) - EXPECTED_PROBABILITY[0]!) < 1e-6);
  });

  test('content types that are something else are 415; octet-stream needs Inference-Header-Content-Length', async () => {
    const json = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [0.5, 1, 2, 0.1] }] });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'application/json; charset=latin1']) {
      const response = await post(json, { 'content-type': contentType });
      assert.equal(response.status, 415, contentType);
      assert.equal(((await response.json()) as { code: string }).code, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  test('a bad Inference-Header-Content-Length or binary tail is a 400 naming the problem', async () => {
    const { body, headerLength } = binaryRequest();
    for (const [length, tail, pattern] of [
      [String(body.length + 1), body, /Inference-Header-Content-Length is \d+ but the body has only/],
      ['-1', body, /non-negative integer/],
      [headerLength, body.subarray(0, body.length - 1), /announce 16 bytes .* but 15 bytes follow/],
    ] as const) {
      const response = await post(tail, { 'inference-header-content-length': length });
      assert.equal(response.status, 400);
      const error = (await response.json()) as { error: string; code: string };
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.match(error.error, pattern);
    }
  });

  test('a gzip body is inflated, and one that inflates beyond --max-body-bytes is 413 PAYLOAD_TOO_LARGE', async () => {
    const { body, headerLength } = binaryRequest([{ name: 'probability', parameters: { binary_data: false } }]);
    const ok = await post(gzipSync(body), { 'inference-header-content-length': headerLength, 'content-encoding': 'gzip' });
    assert.equal(ok.status, 200);
    const bomb = gzipSync(Buffer.concat([body, Buffer.alloc(4 * MAX_BODY_BYTES)]));
    assert.ok(bomb.length < MAX_BODY_BYTES, 'the compressed body itself is within the limit');
    const tooLarge = await post(bomb, { 'inference-header-content-length': headerLength, 'content-encoding': 'gzip' });
    assert.equal(tooLarge.status, 413);
    assert.equal(((await tooLarge.json()) as { code: string }).code, 'PAYLOAD_TOO_LARGE');
  });
});
