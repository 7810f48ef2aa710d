import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createLogger, FileKvStore } from '@infermesh/shared';
import { createGateway, type Gateway } from '@infermesh/gateway';
import { Registry } from 'prom-client';
import { freshFixtures } from '../support/fixtures-dir.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

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
    JSON.stringify({
      entityKeys: ['userId'],
      inputs: { a: { type: 'number' }, b: { type: 'number' }, c: { type: 'number', required: false, default: 0 }, d: { type: 'integer', minimum: 0 } },
      tensors: { features: { datatype: 'FP32', shape: [4], from: ['inputs.a', 'inputs.b', 'inputs.c', 'inputs.d'] } },
      deadlineMs: 2_000,
      pool: { static: [worker.address] },
    }),
    0,
  );
  gateway = await createGateway(
    { host: '127.0.0.1', port: 0, registryDir, kvPrefix: 'infermesh/', maxBodyBytes: 64 * 1024, logLevel: 'silent', shutdownGraceMs: 1_000, feedbackTtlSeconds: 3_600, feedbackKeys: 'k1:fuzz-secret-fuzz-secret-fuzz-secret-32' },
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
