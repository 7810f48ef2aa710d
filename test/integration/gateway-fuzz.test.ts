import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createLogger, FileKvStore } from '@infermesh/shared';
import { createGateway, type Gateway } from '@infermesh/gateway';
import { Registry } from 'prom-client';
import { freshFixtures } from '../support/fixtures-dir.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { testGatewayConfig } from '../support/gateway-config.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

/** Requests per property; the properties together send several thousand. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 1_500);

let worker: WorkerProcess;
let gateway: Gateway;
let base: string;
const responses: number[] = [];

before(async () => {
  const fixtures = freshFixtures();
  worker = await startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256]);
  const registryDir = mkdtempSync(join(tmpdir(), 'fuzz-registry-'));
  await new FileKvStore(registryDir).compareAndSet(
    'models/churn/config',
    JSON.stringify(
      logisticModelConfig(
        { static: [worker.address] },
        { entityKeys: ['userId'], inputs: { a: { type: 'number' }, b: { type: 'number' }, c: { type: 'number', required: false, default: 0 }, d: { type: 'integer', minimum: 0 } }, deadlineMs: 2_000 },
      ),
    ),
    0,
  );
  gateway = await createGateway(
    testGatewayConfig({ registryDir, maxBodyBytes: 64 * 1024, feedbackTtlSeconds: 3_600, feedbackKeys: 'k1:fuzz-secret-fuzz-secret-fuzz-secret-32' }),
    { logger: createLogger({ service: 'gateway', level: 'silent' }), registry: new Registry(), serverVersion: 'test' },
  );
  await gateway.ready;
  base = `http://127.0.0.1:${gateway.port}`;
});

after(async () => {
  await gateway?.stop();
  await worker?.stop();
});

async function send(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body }) });
  await response.arrayBuffer();
  responses.push(response.status);
  return response.status;
}

const jsonish = fc.oneof(
  fc.json(),
  fc.jsonValue().map((value) => JSON.stringify({ entity: { userId: 'u1' }, inputs: value })),
  fc.record({ entity: fc.jsonValue(), inputs: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.jsonValue()), context: fc.jsonValue() }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  // Nearly valid bodies with extreme numbers: exercises enrichment, tensor building and the worker call.
  fc
    .record({ a: fc.double({ noNaN: true }), b: fc.double({ noNaN: true, noDefaultInfinity: true }), d: fc.integer({ min: -3, max: 1e12 }), userId: fc.oneof(fc.string(), fc.integer()) })
    .map(({ a, b, d, userId }) => JSON.stringify({ entity: { userId }, inputs: { a, b, d } })),
  fc.constantFrom('{', '{"entity":', '[]', 'null', '"x"', '1e999999', '{"entity":{"userId":"u"},"inputs":{"a":1,"b":2,"d":-1}}', '{"entity":{"userId":"u"},"inputs":{"a":1,"b":2,"d":3}}', '\u0000\u0001'),
);

const okStatus = (status: number) => status >= 200 && status < 500;

test(`malformed and random prediction bodies never get a 5xx (${RUNS} requests)`, async () => {
  await fc.assert(
    fc.asyncProperty(jsonish, fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin-9'), async (body, contentType) => {
      const status = await send('POST', '/v1/models/churn/predict', body, { 'content-type': contentType });
      assert.ok(okStatus(status), `status ${status} for ${contentType} ${JSON.stringify(body).slice(0, 200)}`);
    }),
    { numRuns: RUNS },
  );
});

test(`random Open Inference Protocol REST bodies never get a 5xx (${RUNS} requests)`, async () => {
  const tensor = fc.record(
    { name: fc.constantFrom('features', 'x', ''), shape: fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 3 }), datatype: fc.constantFrom('FP32', 'FP64', 'INT64', 'BYTES', 'BOOL', 'FP16', 'NOPE'), data: fc.jsonValue() },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(fc.record({ id: fc.jsonValue(), inputs: fc.array(tensor, { maxLength: 3 }), outputs: fc.jsonValue() }, { requiredKeys: [] }), async (body) => {
      const status = await send('POST', '/v2/models/churn/infer', JSON.stringify(body), { 'content-type': 'application/json' });
      assert.ok(okStatus(status), `status ${status} for ${JSON.stringify(body).slice(0, 200)}`);
    }),
    { numRuns: RUNS },
  );
});

test(`random methods, paths and headers never get a 5xx (${RUNS} requests)`, async () => {
  const segment = fc.oneof(fc.constantFrom('v1', 'v2', 'models', 'churn', 'predict', 'infer', 'ready', 'health', 'live', 'feedback', 'experiments', '%', '%E0%A4%A', '..', '%00'), fc.string({ maxLength: 12 }).map(encodeURIComponent));
  const headerValue = fc.stringMatching(/^[ -~]{0,40}$/);
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      fc.array(segment, { minLength: 0, maxLength: 5 }).map((parts) => `/${parts.join('/')}`),
      fc.dictionary(fc.constantFrom('x-request-id', 'content-type', 'accept', 'content-encoding', 'x-forwarded-for'), headerValue),
      fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
      async (method, path, headers, body) => {
        const status = await send(method, path, body, headers);
        assert.ok(okStatus(status), `status ${status} for ${method} ${path} ${JSON.stringify(headers)}`);
      },
    ),
    { numRuns: RUNS },
  );
});

test(`forged, malformed and random feedback never gets a 5xx (${RUNS} requests)`, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.record({ feedbackToken: fc.oneof(fc.string(), fc.base64String(), fc.constant('a.b'), fc.jsonValue()), reward: fc.oneof(fc.double(), fc.jsonValue()) }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
        fc.string({ maxLength: 100 }),
      ),
      async (body) => {
        const status = await send('POST', '/v1/feedback', body, { 'content-type': 'application/json' });
        assert.ok(okStatus(status) && status !== 202, `status ${status} for ${body.slice(0, 200)}`);
      },
    ),
    { numRuns: RUNS },
  );
});

/** Sends raw bytes (no Content-Type unless given, as Triton's HTTP client does) and records the status. */
async function sendBytes(path: string, body: Uint8Array, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers, body });
  await response.arrayBuffer();
  responses.push(response.status);
  return response.status;
}

test(`random binary tensor data extension bodies never get a 5xx (${RUNS} requests)`, async () => {
  const datatype = fc.constantFrom('FP32', 'FP64', 'FP16', 'INT8', 'INT64', 'UINT64', 'BOOL', 'BYTES', 'NOPE');
  const input = fc.record(
    {
      name: fc.constantFrom('features', 'x'),
      shape: fc.oneof(fc.constant([1, 4]), fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 3 })),
      datatype: fc.oneof(fc.constant('FP32'), datatype),
      parameters: fc.record({ binary_data_size: fc.oneof(fc.constant(16), fc.integer({ min: -2, max: 40 }), fc.constant(1.5), fc.constant('16'), fc.constant(null)) }, { requiredKeys: [] }),
      data: fc.jsonValue(),
    },
    { requiredKeys: ['name', 'shape', 'datatype'] },
  );
  const header = fc.record(
    {
      inputs: fc.array(input, { minLength: 1, maxLength: 3 }),
      outputs: fc.array(fc.record({ name: fc.constantFrom('probability', 'nope'), parameters: fc.record({ binary_data: fc.oneof(fc.boolean(), fc.jsonValue()) }, { requiredKeys: [] }) }), { maxLength: 2 }),
      parameters: fc.record({ binary_data_output: fc.oneof(fc.boolean(), fc.jsonValue()) }, { requiredKeys: [] }),
    },
    { requiredKeys: ['inputs'] },
  );
  const tail = fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 80 }));
  const headerLength = fc.oneof(
    fc.constant('exact'),
    fc.integer({ min: -3, max: 300 }).map(String),
    fc.constantFrom('NaN', '', '1e2', ' 12', '12.0', '0x10', '99999999999999999999', '5, 5'),
  );
  // What Triton's HTTP client sends for the churn model, with random features, outputs and flags: reaches the worker.
  const tritonLike = fc.record({
    request: fc.record(
      {
        inputs: fc.constant([{ name: 'features', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }]),
        outputs: fc.array(fc.record({ name: fc.constant('probability'), parameters: fc.record({ binary_data: fc.boolean() }) }), { maxLength: 1 }),
        parameters: fc.record({ binary_data_output: fc.boolean() }, { requiredKeys: [] }),
      },
      { requiredKeys: ['inputs'] },
    ) as fc.Arbitrary<object>,
    binary: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    length: fc.constant<string | undefined>('exact'),
  });
  const anyBody = fc.record({ request: header as fc.Arbitrary<object>, binary: tail, length: fc.option(headerLength, { nil: undefined }) });
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(tritonLike, anyBody),
      fc.constantFrom(undefined, 'application/octet-stream', 'application/json', 'text/plain'),
      fc.constantFrom(undefined, 'gzip', 'deflate', 'gzip-garbage'),
      async ({ request, binary, length }, contentType, encoding) => {
        const json = Buffer.from(JSON.stringify(request));
        let body: Buffer = Buffer.concat([json, binary]);
        const headers: Record<string, string> = {};
        if (length !== undefined) headers['inference-header-content-length'] = length === 'exact' ? String(json.length) : length;
        if (contentType !== undefined) headers['content-type'] = contentType;
        if (encoding !== undefined) {
          headers['content-encoding'] = encoding === 'deflate' ? 'deflate' : 'gzip';
          body = encoding === 'gzip' ? gzipSync(body) : encoding === 'deflate' ? deflateSync(body) : Buffer.concat([Buffer.from([0x1f, 0x8b]), body]);
        }
        const status = await sendBytes('/v2/models/churn/infer', body, headers);
        assert.ok(okStatus(status), `status ${status} for ${JSON.stringify(headers)} ${json.toString().slice(0, 200)} + ${binary.length} bytes`);
      },
    ),
    { numRuns: RUNS },
  );
  assert.ok(responses.slice(-RUNS).includes(200), 'Triton-like binary requests reached the worker and were answered');
});

test('a valid prediction still succeeds after the fuzzing, and some fuzzed requests were accepted', async () => {
  const response = await fetch(`${base}/v1/models/churn/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entity: { userId: 'u1' }, inputs: { a: 0.5, b: 1, c: 2, d: 0 } }),
  });
  assert.equal(response.status, 200);
  assert.ok(responses.length >= 4 * RUNS, `${responses.length} requests sent`);
  assert.ok(responses.some((status) => status === 200), 'the fuzzer reached the success path too');
  assert.ok(new Set(responses).size >= 4, `several distinct statuses: ${[...new Set(responses)].sort().join(',')}`);
});
