import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, InfermeshError, InMemoryEventPublisher, validateEvent, type ModelInferRequest, type ModelInferResponse__Output } from '@infermesh/shared';
import { Registry } from 'prom-client';
import { RecordStore, seededRandom } from '@infermesh/experiments';
import { Enrichment } from '../enrichment/enrichment.js';
import { EnrichmentMetrics } from '../enrichment/enrichment-metrics.js';
import { parseModelConfig } from '../models/model-config.js';
import { compilePredictValidator } from '../models/predict-request-validator.js';
import type { ServedModel } from '../models/served-model.js';
import type { WorkerPool } from '../pools/worker-pool.js';
import { frameBinaryResponse, parseInferBody } from './binary-tensor-extension.js';
import { inferRest } from './open-inference-rest.js';

const NOW = 1_800_000_000_000;

/** A worker that echoes every input as an output of the same name (raw), keeping only the requested outputs. */
function echoModel(calls: ModelInferRequest[]): ServedModel {
  const pool = {
    infer: async (request: ModelInferRequest) => {
      calls.push(request);
      const wanted = new Set((request.outputs ?? []).map((output) => output.name));
      const keep = (request.inputs ?? []).map((input, index) => ({ input, raw: request.rawInputContents?.[index] as Buffer })).filter(({ input }) => wanted.size === 0 || wanted.has(input.name!));
      const response: ModelInferResponse__Output = {
        modelName: 'echo',
        modelVersion: '7',
        id: request.id ?? '',
        parameters: {},
        outputs: keep.map(({ input }) => ({ name: input.name!, datatype: input.datatype!, shape: (input.shape ?? []).map(String), parameters: {}, contents: null })),
        rawOutputContents: keep.map(({ raw }) => raw),
      };
      return { response, instance: { id: 'i', address: 'x:1', meta: {} }, attempts: 1 };
    },
    healthyCount: () => 1,
    size: () => 1,
  } as unknown as WorkerPool;
  const config = parseModelConfig('echo', JSON.stringify({ inputs: { x: { type: 'number' } }, tensors: { x: { datatype: 'FP32', shape: [1], from: ['inputs.x'] } }, pool: { static: ['w:1'] } }));
  return {
    name: 'echo',
    config,
    source: '',
    validate: compilePredictValidator('echo', config),
    enrichment: new Enrichment([], { fetch, now: () => NOW, metrics: new EnrichmentMetrics(new Registry()), logger: createLogger({ service: 'test', level: 'silent' }) }),
    variants: [{ name: 'default', config: { name: 'default', pool: config.pool, enabled: true, role: 'live' }, pool }],
  };
}

const events = new InMemoryEventPublisher({ source: 'urn:infermesh:gateway:test' });
let predictions = 0;
const dependencies = { now: () => NOW, elapsed: () => 0, random: seededRandom(1), records: new RecordStore(), events, newPredictionId: () => `00000000-0000-4000-8000-${String((predictions += 1)).padStart(12, '0')}` };

/** A body as a client sends it: JSON header, then binary parts (with the header length when there are any). */
function clientBody(request: object, parts: Buffer[] = []): ReturnType<typeof parseInferBody> {
  const header = Buffer.from(JSON.stringify(request));
  return parseInferBody(Buffer.concat([header, ...parts]), parts.length === 0 ? undefined : String(header.length));
}

function le32(values: number[], write: 'writeFloatLE' | 'writeInt32LE'): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => bytes[write](value, index * 4));
  return bytes;
}

test('binary inputs reach the worker as raw contents, and binary_data_output returns every output binary', async () => {
  const calls: ModelInferRequest[] = [];
  const features = le32([0.5, 1, 2, 0.25], 'writeFloatLE');
  const labels = Buffer.from([3, 0, 0, 0, 0x61, 0x62, 0x63, 0, 0, 0, 0]);
  const result = await inferRest(
    echoModel(calls),
    clientBody(
      {
        id: 'r1',
        parameters: { binary_data_output: true },
        inputs: [
          { name: 'features', shape: [2, 2], datatype: 'FP32', parameters: { binary_data_size: 16 } },
          { name: 'counts', shape: [2], datatype: 'INT32', data: [7, -8] },
          { name: 'labels', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: labels.length } },
        ],
      },
      [features, labels],
    ),
    'req',
    dependencies,
  );
  assert.deepEqual(calls[0]!.rawInputContents, [features, le32([7, -8], 'writeInt32LE'), labels]);
  assert.deepEqual(calls[0]!.outputs, []);
  assert.deepEqual(result.response, {
    model_name: 'echo',
    model_version: '7',
    id: 'r1',
    outputs: [
      { name: 'features', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } },
      { name: 'counts', datatype: 'INT32', shape: [2], parameters: { binary_data_size: 8 } },
      { name: 'labels', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 11 } },
    ],
  });
  assert.deepEqual(result.binary, [features, le32([7, -8], 'writeInt32LE'), labels]);
  const framed = frameBinaryResponse(result.response, result.binary);
  assert.equal(framed.body.length, framed.headerLength + 16 + 8 + 11);
});

test("an output's binary_data picks its form; without any binary output the answer is plain JSON", async () => {
  const request = (outputs: object[], parameters: object = {}) => ({
    parameters,
    inputs: [
      { name: 'ids', shape: [2], datatype: 'INT64', data: [String(2n ** 60n), -3] },
      { name: 'flags', shape: [2], datatype: 'BOOL', data: [true, false] },
    ],
    outputs,
  });
  const mixed = await inferRest(echoModel([]), clientBody(request([{ name: 'ids', parameters: { binary_data: false } }, { name: 'flags', parameters: { binary_data: true } }])), 'req', dependencies);
  assert.deepEqual((mixed.response as { outputs: unknown[] }).outputs, [
    { name: 'ids', datatype: 'INT64', shape: [2], data: [String(2n ** 60n), -3] },
    { name: 'flags', datatype: 'BOOL', shape: [2], parameters: { binary_data_size: 2 } },
  ]);
  assert.deepEqual(mixed.binary, [Buffer.from([1, 0])]);

  const overridden = await inferRest(echoModel([]), clientBody(request([{ name: 'ids', parameters: { binary_data: false } }], { binary_data_output: true })), 'req', dependencies);
  assert.deepEqual(overridden.binary, []);
  assert.deepEqual((overridden.response as { outputs: unknown[] }).outputs, [{ name: 'ids', datatype: 'INT64', shape: [2], data: [String(2n ** 60n), -3] }]);

  const plain = await inferRest(echoModel([]), clientBody(request([])), 'req', dependencies);
  assert.deepEqual(plain.binary, []);
  assert.deepEqual((plain.response as { outputs: { data: unknown }[] }).outputs.map((output) => output.data), [[String(2n ** 60n), -3], [true, false]]);
});

test('FP16 travels binary both ways; asked for as JSON it is a 400 naming the output', async () => {
  const half = Buffer.from([0x00, 0x3c, 0x00, 0xc0]);
  const body = (binaryOut: boolean) => clientBody({ inputs: [{ name: 'h', shape: [2], datatype: 'FP16', parameters: { binary_data_size: 4 } }], outputs: [{ name: 'h', parameters: { binary_data: binaryOut } }] }, [half]);
  assert.deepEqual((await inferRest(echoModel([]), body(true), 'req', dependencies)).binary, [half]);
  await assert.rejects(inferRest(echoModel([]), body(false), 'req', dependencies), (error: InfermeshError) => error.code === 'INVALID_ARGUMENT' && /output 'h' is FP16/.test(error.message));
});

test('requests the extension cannot make sense of are 400s naming the input, before any worker call', async () => {
  const cases: [object, Buffer[] | undefined, RegExp][] = [
    [{ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', data: [1], parameters: { binary_data_size: 4 } }] }, [Buffer.alloc(4)], /input 'a' has both data and parameters.binary_data_size/],
    [{ inputs: [{ name: 'a', shape: [1], datatype: 'FP32' }] }, undefined, /input 'a' has neither data nor parameters.binary_data_size/],
    [{ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', parameters: { binary_data_size: 4 } }] }, undefined, /input 'a' has parameters.binary_data_size but the request has no Inference-Header-Content-Length/],
    [{ inputs: [{ name: 'a', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 4 } }] }, [Buffer.alloc(4)], /input 'a' is FP32 \[2\]: its binary data must be 8 bytes/],
    [{ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', data: [1] }] }, [Buffer.alloc(3)], /announce 0 bytes .* but 3 bytes follow/],
    [{ inputs: [{ name: 'a', shape: [1], datatype: 'BF17', parameters: { binary_data_size: 2 } }] }, [Buffer.alloc(2)], /input 'a' has unknown datatype 'BF17'/],
    [{ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', parameters: { shared_memory_region: 'r' } }] }, undefined, /input 'a': parameters.shared_memory_region .* not support/],
    [{ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', data: [1] }], outputs: [{ name: 'p', parameters: { classification: 3 } }] }, undefined, /output 'p': parameters.classification/],
    [{ inputs: [{ name: 'a', shape: [1], datatype: 'FP32', data: [1] }], parameters: { binary_data_output: 1 } }, undefined, /the request: parameters.binary_data_output must be true or false/],
  ];
  for (const [request, parts, message] of cases) {
    const calls: ModelInferRequest[] = [];
    const header = Buffer.from(JSON.stringify(request));
    const body = parseInferBody(Buffer.concat([header, ...(parts ?? [])]), parts === undefined ? undefined : String(header.length));
    await assert.rejects(inferRest(echoModel(calls), body, 'req', dependencies), (error: InfermeshError) => {
      assert.ok(['INVALID_ARGUMENT', 'INVALID_TENSOR'].includes(error.code), error.code);
      assert.match(error.message, message);
      return true;
    });
    assert.equal(calls.length, 0, `no worker call for ${message}`);
  }
});

test('every answered v2 inference is logged as a valid prediction.served event that is not rewardable (no feedback token in this protocol)', () => {
  assert.ok(events.events.length > 0, 'the tests above answered inferences');
  for (const envelope of events.events) {
    assert.deepEqual(validateEvent(envelope), [], JSON.stringify(envelope));
    assert.equal(envelope.type, 'infermesh.prediction.served');
    assert.equal((envelope.data as { rewardable?: boolean }).rewardable, false);
    assert.equal(envelope.subject, (envelope.data as { predictionId: string }).predictionId, 'no entity: keyed by the prediction id');
  }
});
