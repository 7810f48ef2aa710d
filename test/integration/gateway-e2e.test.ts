import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { LOGISTIC_BIAS, LOGISTIC_WEIGHTS } from '../fixtures/onnx/fixture-models.js';
import { startFeatureService, unusedLocalUrl, type FeatureService } from '../support/feature-service.js';
import { freshFixtures } from '../support/fixtures-dir.js';
import { eventually } from '../support/load-generator.js';
import { runCli, startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { routeName } from '../../packages/gateway/src/http/gateway-route.js';
import { GATEWAY_ROUTES } from '../../packages/gateway/src/http/gateway-routes.js';

const fixtures = freshFixtures();
const registryDir = mkdtempSync(join(tmpdir(), 'gateway-registry-'));
const registryArgs = ['--registry-dir', registryDir];
let workers: WorkerProcess[] = [];
let gateway: WorkerProcess;
let features: FeatureService;
let base: string;

/** Generous: on a shared, busy machine a tight timeout turns the happy path into the defaults path (the slow-source test sets its own). */
const ENRICHMENT_TIMEOUT_MS = 800;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const expected = (row: number[]) => sigmoid(row.reduce((sum, value, index) => sum + value * (LOGISTIC_WEIGHTS[index] ?? 0), LOGISTIC_BIAS));

/** Writes a model config through the CLI (validated), as an operator would. */
async function configure(model: string, config: object): Promise<void> {
  const file = join(registryDir, `${model}-config.json`);
  writeFileSync(file, JSON.stringify(config));
  const result = await runCli(['models', 'configure', model, '--file', file, ...registryArgs]);
  assert.equal(result.code, 0, result.stderr);
}

function churnConfig(overrides: object = {}): object {
  return {
    entityKeys: ['userId'],
    inputs: { age: { type: 'number', minimum: 0 }, tenureYears: { type: 'number' } },
    enrichers: [
      { name: 'user-features', url: `${features.url}/users/{userId}`, timeoutMs: ENRICHMENT_TIMEOUT_MS, cacheTtlMs: 0, features: { avgBasket: { default: 0 }, visits: { path: 'stats.visits' } } },
    ],
    tensors: { features: { datatype: 'FP32', shape: [4], from: ['inputs.age', 'inputs.tenureYears', 'features.avgBasket', 'features.visits'] } },
    deadlineMs: 1_000,
    pool: { static: workers.map((worker) => worker.address) },
    ...overrides,
  };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), headers: response.headers };
}

before(async () => {
  features = await startFeatureService({ u1: { avgBasket: 2, stats: { visits: 0.1 } }, u2: { stats: { visits: 3 } } });
  workers = await Promise.all([0, 1].map(() => startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256])));
  await configure('churn', churnConfig());
  gateway = await startGatewayProcess(registryArgs);
  base = `http://127.0.0.1:${gateway.port}`;
});

after(async () => {
  await gateway?.stop();
  await Promise.all(workers.map((worker) => worker.stop()));
  await features?.close();
});

describe('POST /v1/models/{model}/predict', () => {
  test('enriches, predicts through a worker and answers with the version and a request id', async () => {
    const response = await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 0.5, tenureYears: 1 } }, { 'x-request-id': 'client-42' });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.headers.get('x-request-id'), 'client-42');
    assert.equal(response.body.requestId, 'client-42');
    assert.equal(response.body.model, 'churn');
    assert.equal(response.body.version, 'v1');
    assert.equal(response.body.default, false);
    assert.ok(Math.abs(response.body.outputs.probability[0][0] - expected([0.5, 1, 2, 0.1])) < 1e-6);
  });

  test('a feature the source lacks falls back to its default and is reported', async () => {
    const response = await post('/v1/models/churn/predict', { entity: { userId: 'u2' }, inputs: { age: 1, tenureYears: 1 } });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.defaultedFeatures, ['avgBasket']);
    assert.ok(Math.abs(response.body.outputs.probability[0][0] - expected([1, 1, 0, 3])) < 1e-6);
  });

  test('client mistakes get 4xx JSON errors naming the problem', async () => {
    const malformed = await post('/v1/models/churn/predict', '{"entity": ');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'MALFORMED_JSON');
    assert.ok(malformed.body.requestId);

    const unknownModel = await post('/v1/models/nope/predict', { entity: { userId: 'u1' }, inputs: {} });
    assert.equal(unknownModel.status, 404);
    assert.equal(unknownModel.body.error.code, 'MODEL_NOT_FOUND');

    const missing = await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1 } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /inputs\.tenureYears is required/);

    const illTyped = await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 'old', tenureYears: 1 } });
    assert.equal(illTyped.status, 400);
    assert.match(illTyped.body.error.message, /inputs\.age must be number/);

    const unknownField = await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1, agee: 2 } });
    assert.equal(unknownField.status, 400);
    assert.match(unknownField.body.error.message, /inputs\.agee is not an input of this model \(inputs: age, tenureYears\)/);

    const noEntity = await post('/v1/models/churn/predict', { inputs: { age: 1, tenureYears: 1 } });
    assert.equal(noEntity.status, 400);
    assert.match(noEntity.body.error.message, /entity is required/);

    const notJson = await fetch(`${base}/v1/models/churn/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    assert.equal(notJson.status, 415);
    const tooLarge = await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.error.code, 'PAYLOAD_TOO_LARGE');
    const wrongMethod = await fetch(`${base}/v1/models/churn/predict`);
    assert.equal(wrongMethod.status, 405);
    const noRoute = await fetch(`${base}/v3/anything`);
    assert.equal(noRoute.status, 404);
    assert.equal(((await noRoute.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
  });

  test('a required feature missing after enrichment → 422 naming it (unknown user: the source answers 404)', async () => {
    const response = await post('/v1/models/churn/predict', { entity: { userId: 'nobody' }, inputs: { age: 1, tenureYears: 1 } });
    assert.equal(response.status, 422);
    assert.equal(response.body.error.code, 'MISSING_FEATURE');
    assert.match(response.body.error.message, /features\.visits/);
  });
});

/** A request whose answer the fast lane and express must agree on. */
interface ParityCase {
  name: string;
  body: string;
  /** The model named in the path; `churn` unless given. */
  model?: string;
  /** The Content-Type sent; '' sends none; application/json unless given. */
  contentType?: string;
  /** A JSON parse error: its wording comes from each parser, so only the rest of the answer must agree. */
  parserMessage?: boolean;
}

const row = [0.5, 1, 2, 0.1];
/** The cases of each route the fast lane serves, keyed as routeName() names them: a fast route without cases fails the test below. */
const PARITY_CASES: Record<string, ParityCase[]> = {
  'POST /v1/models/:model/predict': [
    { name: 'a prediction', body: JSON.stringify({ entity: { userId: 'u1' }, inputs: { age: 0.5, tenureYears: 1 } }) },
    { name: 'malformed JSON', body: '{"entity": ', parserMessage: true },
    { name: 'an empty body', body: '' },
    { name: 'a JSON value that is not an object', body: '[1, 2]' },
    { name: 'a missing input', body: JSON.stringify({ entity: { userId: 'u1' }, inputs: { age: 1 } }) },
    { name: 'a missing feature', body: JSON.stringify({ entity: { userId: 'nobody' }, inputs: { age: 1, tenureYears: 1 } }) },
    { name: 'an unknown model', body: JSON.stringify({ entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } }), model: 'nobody' },
    { name: 'an oversized body', body: JSON.stringify({ entity: { userId: 'u1' }, inputs: { pad: 'x'.repeat(2 * 1024 * 1024) } }) },
  ],
  'POST /v2/models/:model/infer': [
    { name: 'an inference', body: JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: row }] }) },
    { name: 'an inference without Content-Type', body: JSON.stringify({ id: 'x', inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: row }] }), contentType: '' },
    { name: 'outputs asked for as binary data', body: JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: row }], parameters: { binary_data_output: true } }) },
    { name: 'malformed JSON', body: '{"inputs": ', parserMessage: true },
    { name: 'an empty body', body: '' },
    { name: 'a request that is not an object', body: '[1, 2]' },
    { name: 'a tensor of the wrong shape', body: JSON.stringify({ inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }) },
    { name: 'an unknown model', body: JSON.stringify({ inputs: [] }), model: 'nobody' },
    { name: 'an oversized body', body: JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: row, pad: 'x'.repeat(2 * 1024 * 1024) }] }) },
  ],
};

describe('the fast lane and express answer alike, on every route the lane serves', () => {
  // The lane serves a fast route's plain requests (routes from the table: gateway-routes.ts); the
  // same request with a query string or a gzip body is express's. The client must not tell them apart.
  const fastRoutes = GATEWAY_ROUTES.filter((route) => route.fastLane === true);
  /** An answer as the client sees it: what differs per prediction (its id, its feedback token) and a parser's own wording masked. */
  const send = async (method: string, path: string, body: Buffer, headers: Record<string, string>, parserMessage: boolean) => {
    const response = await fetch(`${base}${path}`, { method, headers: { 'x-request-id': 'same-id', ...headers }, body });
    const bytes = Buffer.from(await response.arrayBuffer());
    const contentType = response.headers.get('content-type');
    let answer: unknown = bytes.toString('base64');
    if (contentType?.startsWith('application/json')) {
      const json = JSON.parse(bytes.toString('utf8'));
      for (const field of ['predictionId', 'feedbackToken']) if (field in json) json[field] = `<${field}>`;
      if (parserMessage) {
        if (typeof json.error === 'string') json.error = '<parser message>';
        else json.error.message = '<parser message>';
      }
      answer = json;
    }
    return { status: response.status, contentType, headerLength: response.headers.get('inference-header-content-length'), requestId: response.headers.get('x-request-id'), answer };
  };

  test('every route the lane serves has parity cases', () => {
    assert.ok(fastRoutes.length > 0);
    assert.deepEqual(fastRoutes.map(routeName).sort(), Object.keys(PARITY_CASES).sort());
  });
  for (const route of fastRoutes) {
    for (const { name, body, model = 'churn', contentType = 'application/json', parserMessage = false } of PARITY_CASES[routeName(route)] ?? []) {
      test(`${routeName(route)}: ${name}`, async () => {
        const path = route.path.replace(':model', model);
        const headers: Record<string, string> = contentType === '' ? {} : { 'content-type': contentType };
        // Bytes, not a string: fetch would label a string body text/plain.
        const lane = await send(route.method, path, Buffer.from(body), headers, parserMessage);
        const viaQuery = await send(route.method, `${path}?via=express`, Buffer.from(body), headers, parserMessage);
        const viaGzip = await send(route.method, path, gzipSync(body), { ...headers, 'content-encoding': 'gzip' }, parserMessage);
        assert.equal(lane.requestId, 'same-id');
        assert.deepEqual(viaQuery, lane, 'express (a query string) answers as the lane does');
        assert.deepEqual(viaGzip, lane, 'express (a gzip body) answers as the lane does');
        if (name.startsWith('a prediction') || name.startsWith('an inference')) assert.equal(lane.status, 200, JSON.stringify(lane.answer));
      });
    }
  }
});

describe('feature service slow or down', () => {
  test('slow source: the default is used within the deadline; a feature without a default → 422 within the deadline', async () => {
    features.setMode({ delayMs: 2_000 });
    try {
      await configure('churn', churnConfig({ enrichers: [{ name: 'user-features', url: `${features.url}/users/{userId}`, timeoutMs: 100, cacheTtlMs: 0, features: { avgBasket: { default: 0 }, visits: { path: 'stats.visits', default: 1 } } }] }));
      await eventually('config applied', async () => (await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } })).body?.defaultedFeatures?.length === 2, 10_000);
      const started = performance.now();
      const withDefaults = await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } });
      assert.equal(withDefaults.status, 200);
      assert.deepEqual(withDefaults.body.defaultedFeatures.sort(), ['avgBasket', 'visits']);
      assert.ok(performance.now() - started < 1_000, 'answered within the deadline');

      await configure('churn', churnConfig({ enrichers: [{ name: 'user-features', url: `${features.url}/users/{userId}`, timeoutMs: 100, cacheTtlMs: 0, features: { avgBasket: { default: 0 }, visits: { path: 'stats.visits' } } }] }));
      await eventually('config applied', async () => (await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } })).status === 422, 10_000);
      const startedMissing = performance.now();
      const missing = await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } });
      assert.equal(missing.status, 422);
      assert.match(missing.body.error.message, /features\.visits/);
      assert.ok(performance.now() - startedMissing < 1_000);
    } finally {
      features.setMode('normal');
    }
  });

  test('source down: defaults used, and the failing source shows in metrics', async () => {
    await configure('churn', churnConfig({ enrichers: [{ name: 'down-source', url: `${await unusedLocalUrl()}/users/{userId}`, timeoutMs: 100, cacheTtlMs: 0, features: { avgBasket: { default: 0 }, visits: { default: 1 } } }] }));
    await eventually('down source in use', async () => (await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } })).body?.defaultedFeatures?.length === 2, 10_000);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /infermesh_gateway_enrichment_failures_total\{source="down-source",reason="network"\} [1-9]/);
    // Log lines reach stdout in batches, at most 200 ms after they are written.
    // On the enrichment's logger, as the gateway's wiring names it.
    await eventually('the failing source logged', () => gateway.logs.some((line) => line.includes('"module":"enrichment"') && line.includes('"source":"down-source"') && line.includes('"reason":"network"')), 5_000);
  });
});

describe('SLO miss and worker loss', () => {
  test('no healthy worker: the configured default output with default:true, else 503 NO_HEALTHY_WORKER', async () => {
    const dead = [`127.0.0.1:1`];
    await configure('churn', churnConfig({ pool: { static: dead }, defaultOutput: { probability: [[0.5]] }, enrichers: [], tensors: { features: { datatype: 'FP32', shape: [2], from: ['inputs.age', 'inputs.tenureYears'] } } }));
    await eventually('default output', async () => (await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } })).body?.default === true, 10_000);
    const defaulted = await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } });
    assert.deepEqual(defaulted.body.outputs, { probability: [[0.5]] });
    assert.equal(defaulted.body.version, undefined);

    await configure('churn', churnConfig({ pool: { static: dead }, enrichers: [], tensors: { features: { datatype: 'FP32', shape: [2], from: ['inputs.age', 'inputs.tenureYears'] } } }));
    await eventually('503', async () => (await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } })).status === 503, 10_000);
    const unavailable = await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } });
    assert.match(unavailable.body.error.code, /NO_HEALTHY_WORKER|UPSTREAM_UNAVAILABLE/);
  });

  test('an invalid config is rejected with a logged reason and the previous one keeps serving', async () => {
    await configure('churn', churnConfig());
    await eventually('back on real workers', async () => (await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } })).body?.version === 'v1', 10_000);
    // Written behind the CLI's back (the CLI validates): the gateway must still refuse it.
    // Atomically (temp file + rename), as any writer should: a reader must never see it half written.
    writeFileSync(join(registryDir, 'models/churn/config.tmp'), '{"tensors": {}, "pool": {}}');
    renameSync(join(registryDir, 'models/churn/config.tmp'), join(registryDir, 'models/churn/config'));
    await eventually('rejection logged', () => gateway.logs.some((line) => line.includes('model config rejected')), 10_000);
    const response = await post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } });
    assert.equal(response.status, 200);
    assert.equal(response.body.version, 'v1');
    assert.match(await (await fetch(`${base}/metrics`)).text(), /infermesh_gateway_config_rejections_total\{model="churn"\} 1/);
    await configure('churn', churnConfig());
  });
});

describe('Open Inference Protocol v2 REST', () => {
  test('server, model metadata, readiness and inference', async () => {
    await eventually('config restored', async () => (await fetch(`${base}/v2/models/churn/ready`)).status === 200, 10_000);
    assert.deepEqual(await (await fetch(`${base}/v2/health/live`)).json(), { live: true });
    assert.equal((await fetch(`${base}/v2/health/ready`)).status, 200);
    assert.equal(((await (await fetch(`${base}/v2`)).json()) as { name: string }).name, 'infermesh-gateway');
    const metadata = (await (await fetch(`${base}/v2/models/churn`)).json()) as { name: string; inputs: unknown[] };
    assert.deepEqual(metadata.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
    const infer = await post('/v2/models/churn/infer', { id: 'r1', inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: [0.5, 1, 2, 0.1, 1, 1, 1, 1] }] });
    assert.equal(infer.status, 200, JSON.stringify(infer.body));
    assert.equal(infer.body.id, 'r1');
    assert.equal(infer.body.model_version, 'v1');
    const [output] = infer.body.outputs;
    assert.deepEqual(output.shape, [2, 1]);
    assert.ok(Math.abs(output.data[1] - expected([1, 1, 1, 1])) < 1e-6);
    const bad = await post('/v2/models/churn/infer', { inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /expected FP32 \[-1,4\]/);
  });

  test('concurrent /v2 inferences and /v1 predictions of one model share worker calls, and each gets exactly its own rows', async () => {
    const metric = async (name: string) => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return Number(new RegExp(`^${name}\\{model="churn"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    };
    const [callsBefore, predictionsBefore] = [await metric('infermesh_gateway_batch_requests_count'), await metric('infermesh_gateway_batch_requests_sum')];
    const rows = (index: number) => Array.from({ length: 1 + (index % 2) }, (_, row) => [index / 10, row + 1, (index % 7) / 3, 0.25 * row]);
    const v2 = Array.from({ length: 40 }, (_, index) =>
      post('/v2/models/churn/infer', { id: `batch-${index}`, inputs: [{ name: 'features', shape: [rows(index).length, 4], datatype: 'FP32', data: rows(index).flat() }] }),
    );
    const v1 = Array.from({ length: 40 }, (_, index) => post('/v1/models/churn/predict', { entity: { userId: 'u1' }, inputs: { age: index, tenureYears: 2 } }));
    const [v2Answers, v1Answers] = await Promise.all([Promise.all(v2), Promise.all(v1)]);
    v2Answers.forEach((answer, index) => {
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.id, `batch-${index}`);
      const [output] = answer.body.outputs;
      assert.deepEqual(output.shape, [rows(index).length, 1]);
      rows(index).forEach((row, at) => assert.ok(Math.abs(output.data[at] - expected(row)) < 1e-6, `request ${index} row ${at}`));
    });
    v1Answers.forEach((answer, index) => {
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.ok(Math.abs(answer.body.outputs.probability[0][0] - expected([index, 2, 2, 0.1])) < 1e-6, `prediction ${index}`);
    });
    const calls = (await metric('infermesh_gateway_batch_requests_count')) - callsBefore;
    const predictions = (await metric('infermesh_gateway_batch_requests_sum')) - predictionsBefore;
    assert.equal(predictions, 80, 'every inference and prediction went through the batcher');
    assert.ok(calls < 80, `fewer worker calls than requests: ${calls} calls for 80`);
  });
});
