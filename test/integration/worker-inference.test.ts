import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { LOGISTIC_BIAS, LOGISTIC_WEIGHTS, SIMILAR_PRODUCTS } from '../fixtures/onnx/fixture-models.js';
import { freshFixtures } from '../support/fixtures-dir.js';
import { inferenceClient, unary, type CallError } from '../support/proto-client.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

interface OutputTensor {
  name: string;
  datatype: string;
  shape: string[];
  contents: Record<string, unknown[]> | null;
}
interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: OutputTensor[];
  raw_output_contents: Buffer[];
}

const fixtures = freshFixtures();
const workers: Record<string, WorkerProcess> = {};
const clients: Record<string, Client> = {};

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function expectedProbability(row: number[]): number {
  return sigmoid(row.reduce((sum, value, index) => sum + value * (LOGISTIC_WEIGHTS[index] ?? 0), LOGISTIC_BIAS));
}

function rawBytes(elements: string[]): Buffer {
  return Buffer.concat(elements.flatMap((element) => {
    const bytes = Buffer.from(element);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    return [length, bytes];
  }));
}

async function expectError(promise: Promise<unknown>, code: status, ...fragments: string[]): Promise<void> {
  await assert.rejects(promise, (error: CallError) => {
    assert.equal(error.code, code, `expected ${status[code]}, got ${status[error.code]}: ${error.details}`);
    for (const fragment of fragments) assert.match(error.details, new RegExp(fragment.replace(/[[\]()]/g, '\\$&')), error.details);
    return true;
  });
}

before(async () => {
  const specs = {
    logistic: ['--model', 'churn', '--version', 'v1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256],
    twoOutputs: ['--model', 'two', '--version', '3', '--artifact', fixtures.twoOutputs.path, '--sha256', fixtures.twoOutputs.sha256],
    integers: ['--model', 'ints', '--version', '1', '--artifact', fixtures.integers.uri, '--sha256', fixtures.integers.sha256],
    lookup: ['--model', 'similar', '--version', '2026-11-01', '--artifact', fixtures.lookup.uri, '--sha256', fixtures.lookup.sha256, '--lookup-key', 'productId'],
  };
  await Promise.all(
    Object.entries(specs).map(async ([name, args]) => {
      workers[name] = await startWorkerProcess(args);
      clients[name] = inferenceClient(workers[name].address);
    }),
  );
});

after(async () => {
  for (const client of Object.values(clients)) client.close();
  await Promise.all(Object.values(workers).map((worker) => worker.stop()));
});

describe('ONNX runtime', () => {
  test('FP32 logistic regression with typed contents computes sigmoid(x·W + b) per row', async () => {
    const rows = [[0.5, 1, 2, 0.1], [1, 1, 1, 1], [-3, 0, 0.25, 4]];
    const response = await unary<InferResponse>(clients.logistic!, 'ModelInfer', {
      model_name: 'churn',
      id: 'req-1',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 4], contents: { fp32_contents: rows.flat() } }],
    });
    assert.equal(response.model_name, 'churn');
    assert.equal(response.model_version, 'v1');
    assert.equal(response.id, 'req-1');
    const [output] = response.outputs;
    assert.equal(output?.name, 'probability');
    assert.equal(output?.datatype, 'FP32');
    assert.deepEqual(output?.shape, ['3', '1']);
    const probabilities = output?.contents?.fp32_contents as number[];
    rows.forEach((row, index) => assert.ok(Math.abs((probabilities[index] ?? NaN) - expectedProbability(row)) < 1e-6));
  });

  test('raw_input_contents in, raw_output_contents out, for a batch of 64 rows', async () => {
    const rows = Array.from({ length: 64 }, (_, row) => [row / 10, -row / 20, 1, row % 3]);
    const response = await unary<InferResponse>(clients.logistic!, 'ModelInfer', {
      model_name: 'churn',
      model_version: 'v1',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [64, 4] }],
      raw_input_contents: [Buffer.from(Float32Array.from(rows.flat()).buffer)],
    });
    assert.equal(response.outputs[0]?.contents, null);
    const raw = response.raw_output_contents[0]!;
    const probabilities = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    assert.equal(probabilities.length, 64);
    rows.forEach((row, index) => assert.ok(Math.abs((probabilities[index] ?? NaN) - expectedProbability(row)) < 1e-6));
  });

  test('FP64 model with two outputs; asking for one output returns only that one', async () => {
    const x = [1.5, -2.25, 1e-9, 3, 4, 5];
    const all = await unary<InferResponse>(clients.twoOutputs!, 'ModelInfer', {
      model_name: 'two',
      inputs: [{ name: 'x', datatype: 'FP64', shape: [2, 3], contents: { fp64_contents: x } }],
    });
    const byName = Object.fromEntries(all.outputs.map((output) => [output.name, output]));
    assert.deepEqual(byName.doubled?.contents?.fp64_contents, x.map((value) => value * 2));
    assert.deepEqual(byName.row_sum?.contents?.fp64_contents, [1.5 - 2.25 + 1e-9, 12]);
    assert.deepEqual(byName.row_sum?.shape, ['2', '1']);

    const one = await unary<InferResponse>(clients.twoOutputs!, 'ModelInfer', {
      model_name: 'two',
      inputs: [{ name: 'x', datatype: 'FP64', shape: [2, 3], contents: { fp64_contents: x } }],
      outputs: [{ name: 'row_sum' }],
    });
    assert.deepEqual(one.outputs.map((output) => output.name), ['row_sum']);
  });

  test('INT32, INT64 (beyond 2^53), BOOL and BYTES inputs and outputs with typed contents', async () => {
    const big = (2n ** 60n).toString();
    const response = await unary<InferResponse>(clients.integers!, 'ModelInfer', {
      model_name: 'ints',
      inputs: [
        { name: 'counts', datatype: 'INT32', shape: [2, 2], contents: { int_contents: [1, -2, 2147483646, 0] } },
        { name: 'ids', datatype: 'INT64', shape: [2], contents: { int64_contents: [big, '-7'] } },
        { name: 'flags', datatype: 'BOOL', shape: [2], contents: { bool_contents: [true, false] } },
        { name: 'labels', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('héllo'), Buffer.from('')] } },
      ],
    });
    const byName = Object.fromEntries(response.outputs.map((output) => [output.name, output]));
    assert.deepEqual(byName.counts_plus_one?.contents?.int_contents, [2, -1, 2147483647, 1]);
    assert.equal(byName.counts_plus_one?.datatype, 'INT32');
    assert.deepEqual(byName.ids_times_two?.contents?.int64_contents, [(2n ** 61n).toString(), '-14']);
    assert.deepEqual(byName.ids_positive?.contents?.bool_contents, [true, false]);
    assert.deepEqual(byName.flags_negated?.contents?.bool_contents, [false, true]);
    assert.equal(byName.labels_echo?.datatype, 'BYTES');
    assert.deepEqual((byName.labels_echo?.contents?.bytes_contents as Buffer[]).map(String), ['héllo', '']);
  });

  test('INT32, INT64, BOOL and BYTES in raw form (BYTES with 4-byte length prefixes)', async () => {
    const response = await unary<InferResponse>(clients.integers!, 'ModelInfer', {
      model_name: 'ints',
      inputs: [
        { name: 'counts', datatype: 'INT32', shape: [1, 2] },
        { name: 'ids', datatype: 'INT64', shape: [1] },
        { name: 'flags', datatype: 'BOOL', shape: [1] },
        { name: 'labels', datatype: 'BYTES', shape: [1] },
      ],
      raw_input_contents: [
        Buffer.from(Int32Array.of(41, 9).buffer),
        Buffer.from(BigInt64Array.of(-5n).buffer),
        Buffer.from([1]),
        rawBytes(['abc']),
      ],
    });
    const names = response.outputs.map((output) => output.name);
    const raw = (name: string) => response.raw_output_contents[names.indexOf(name)]!;
    assert.deepEqual([...new Int32Array(Uint8Array.from(raw('counts_plus_one')).buffer)], [42, 10]);
    assert.deepEqual([...new BigInt64Array(Uint8Array.from(raw('ids_times_two')).buffer)], [-10n]);
    assert.deepEqual([...raw('ids_positive')], [0]);
    assert.deepEqual([...raw('flags_negated')], [0]);
    assert.deepEqual(raw('labels_echo'), rawBytes(['abc']));
  });

  test('ModelMetadata reports names, datatypes and shapes read from the model', async () => {
    const metadata = await unary<Record<string, unknown>>(clients.integers!, 'ModelMetadata', { name: 'ints' });
    assert.deepEqual(metadata, {
      name: 'ints',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'counts', datatype: 'INT32', shape: ['-1', '2'] },
        { name: 'ids', datatype: 'INT64', shape: ['-1'] },
        { name: 'flags', datatype: 'BOOL', shape: ['-1'] },
        { name: 'labels', datatype: 'BYTES', shape: ['-1'] },
      ],
      outputs: [
        { name: 'counts_plus_one', datatype: 'INT32', shape: ['-1', '2'] },
        { name: 'ids_times_two', datatype: 'INT64', shape: ['-1'] },
        { name: 'ids_positive', datatype: 'BOOL', shape: ['-1'] },
        { name: 'flags_negated', datatype: 'BOOL', shape: ['-1'] },
        { name: 'labels_echo', datatype: 'BYTES', shape: ['-1'] },
      ],
    });
  });
});

describe('lookup runtime', () => {
  test('returns the record for each key and flags keys the table lacks', async () => {
    const response = await unary<InferResponse>(clients.lookup!, 'ModelInfer', {
      model_name: 'similar',
      inputs: [{ name: 'productId', datatype: 'INT64', shape: [3], contents: { int64_contents: ['42', '999', '19'] } }],
    });
    const byName = Object.fromEntries(response.outputs.map((output) => [output.name, output]));
    const values = (byName.value?.contents?.bytes_contents as Buffer[]).map((value) => JSON.parse(String(value)) as unknown);
    const record = (id: number) => ({ similarProducts: SIMILAR_PRODUCTS.find((product) => product.productId === id)?.similarProducts });
    assert.deepEqual(values, [record(42), null, record(19)]);
    assert.deepEqual(byName.found?.contents?.bool_contents, [true, false, true]);
    assert.equal(response.model_version, '2026-11-01');
  });

  test('metadata names the key input after the key field, INT64 for integer keys', async () => {
    const metadata = await unary<{ platform: string; inputs: unknown[]; outputs: unknown[] }>(clients.lookup!, 'ModelMetadata', { name: 'similar' });
    assert.equal(metadata.platform, 'infermesh_lookup');
    assert.deepEqual(metadata.inputs, [{ name: 'productId', datatype: 'INT64', shape: ['-1'] }]);
    assert.deepEqual(metadata.outputs, [
      { name: 'value', datatype: 'BYTES', shape: ['-1'] },
      { name: 'found', datatype: 'BOOL', shape: ['-1'] },
    ]);
  });
});

describe('server endpoints', () => {
  test('ServerLive, ServerReady, ModelReady and ServerMetadata', async () => {
    const client = clients.logistic!;
    assert.deepEqual(await unary(client, 'ServerLive', {}), { live: true });
    assert.deepEqual(await unary(client, 'ServerReady', {}), { ready: true });
    assert.deepEqual(await unary(client, 'ModelReady', { name: 'churn', version: 'v1' }), { ready: true });
    assert.deepEqual(await unary(client, 'ModelReady', { name: 'churn', version: 'v9' }), { ready: false });
    const metadata = await unary<{ name: string; version: string }>(client, 'ServerMetadata', {});
    assert.equal(metadata.name, 'infermesh-worker');
    assert.match(metadata.version, /^\d+\.\d+\.\d+/);
  });
});

describe('client mistakes get actionable statuses, never INTERNAL', () => {
  const features = (shape: number[], values: number[]) => ({ name: 'features', datatype: 'FP32', shape, contents: { fp32_contents: values } });

  test('unknown model → NOT_FOUND naming the served model', async () => {
    await expectError(unary(clients.logistic!, 'ModelInfer', { model_name: 'nope', inputs: [features([1, 4], [1, 2, 3, 4])] }), status.NOT_FOUND, "'nope'", "'churn'");
    await expectError(unary(clients.logistic!, 'ModelMetadata', { name: 'nope' }), status.NOT_FOUND, "'nope'");
  });

  test('unknown version → NOT_FOUND naming the served version', async () => {
    await expectError(
      unary(clients.logistic!, 'ModelInfer', { model_name: 'churn', model_version: 'v2', inputs: [features([1, 4], [1, 2, 3, 4])] }),
      status.NOT_FOUND,
      "'v2'",
      "'v1'",
    );
  });

  test('wrong tensor name → INVALID_ARGUMENT listing the expected inputs', async () => {
    await expectError(
      unary(clients.logistic!, 'ModelInfer', { model_name: 'churn', inputs: [{ ...features([1, 4], [1, 2, 3, 4]), name: 'feature' }] }),
      status.INVALID_ARGUMENT,
      "unknown input 'feature'",
      'features (FP32 [-1,4])',
    );
  });

  test('wrong datatype → INVALID_ARGUMENT naming the tensor and expected datatype', async () => {
    await expectError(
      unary(clients.logistic!, 'ModelInfer', {
        model_name: 'churn',
        inputs: [{ name: 'features', datatype: 'FP64', shape: [1, 4], contents: { fp64_contents: [1, 2, 3, 4] } }],
      }),
      status.INVALID_ARGUMENT,
      "input 'features' has datatype FP64; expected FP32",
    );
  });

  test('wrong shape → INVALID_ARGUMENT with the expected shape', async () => {
    await expectError(
      unary(clients.logistic!, 'ModelInfer', { model_name: 'churn', inputs: [features([1, 3], [1, 2, 3])] }),
      status.INVALID_ARGUMENT,
      "input 'features' has shape [1,3]; expected FP32 [-1,4]",
    );
  });

  test('element count disagreeing with the shape → INVALID_ARGUMENT', async () => {
    await expectError(
      unary(clients.logistic!, 'ModelInfer', { model_name: 'churn', inputs: [features([2, 4], [1, 2, 3, 4])] }),
      status.INVALID_ARGUMENT,
      '8 elements',
      'carries 4',
    );
  });

  test('data in the wrong contents field → INVALID_ARGUMENT naming the right field', async () => {
    await expectError(
      unary(clients.logistic!, 'ModelInfer', {
        model_name: 'churn',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp64_contents: [1, 2, 3, 4] } }],
      }),
      status.INVALID_ARGUMENT,
      'contents.fp32_contents',
    );
  });

  test('missing input, unknown output, disagreeing batch sizes → INVALID_ARGUMENT', async () => {
    await expectError(unary(clients.logistic!, 'ModelInfer', { model_name: 'churn', inputs: [] }), status.INVALID_ARGUMENT, "missing input 'features'");
    await expectError(
      unary(clients.logistic!, 'ModelInfer', { model_name: 'churn', inputs: [features([1, 4], [1, 2, 3, 4])], outputs: [{ name: 'logits' }] }),
      status.INVALID_ARGUMENT,
      "unknown output 'logits'",
      'probability',
    );
    await expectError(
      unary(clients.integers!, 'ModelInfer', {
        model_name: 'ints',
        inputs: [
          { name: 'counts', datatype: 'INT32', shape: [1, 2], contents: { int_contents: [1, 2] } },
          { name: 'ids', datatype: 'INT64', shape: [2], contents: { int64_contents: ['1', '2'] } },
          { name: 'flags', datatype: 'BOOL', shape: [2], contents: { bool_contents: [true, false] } },
          { name: 'labels', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('a'), Buffer.from('b')] } },
        ],
      }),
      status.INVALID_ARGUMENT,
      'batch size',
    );
  });

  test('malformed raw contents → INVALID_ARGUMENT', async () => {
    await expectError(
      unary(clients.logistic!, 'ModelInfer', {
        model_name: 'churn',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4] }],
        raw_input_contents: [Buffer.alloc(15)],
      }),
      status.INVALID_ARGUMENT,
      'not a multiple of 4',
    );
    await expectError(
      unary(clients.integers!, 'ModelInfer', {
        model_name: 'ints',
        inputs: [
          { name: 'counts', datatype: 'INT32', shape: [1, 2] },
          { name: 'ids', datatype: 'INT64', shape: [1] },
          { name: 'flags', datatype: 'BOOL', shape: [1] },
          { name: 'labels', datatype: 'BYTES', shape: [1] },
        ],
        raw_input_contents: [Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(1), Buffer.from([200, 0, 0, 0, 65])],
      }),
      status.INVALID_ARGUMENT,
      "input 'labels'",
      '200-byte element',
    );
  });
});

describe('metrics', () => {
  test('/metrics counts calls by status code and reports the loaded model', async () => {
    const body = await (await fetch(`http://127.0.0.1:${workers.logistic!.metricsPort}/metrics`)).text();
    assert.match(body, /infermesh_worker_model_info\{model="churn",version="v1",platform="onnxruntime_onnx"\} 1/);
    assert.match(body, /infermesh_worker_grpc_requests_total\{method="ModelInfer",code="OK"\} [1-9]/);
    assert.match(body, /infermesh_worker_grpc_requests_total\{method="ModelInfer",code="INVALID_ARGUMENT"\} [1-9]/);
    assert.match(body, /infermesh_worker_inference_duration_seconds_count\{model="churn",version="v1"\} [1-9]/);
  });
});
