import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '@infermesh/shared';
import { Registry } from 'prom-client';
import { DEFAULT_MAX_RESPONSE_BYTES, Enrichment, EnrichmentMetrics, type EnricherConfig, type EnrichmentDependencies } from '@infermesh/gateway';
import { startFeatureService, unusedLocalUrl, type FeatureService, type FeatureServiceMode } from '../support/feature-service.js';
import { freshFixtures } from '../support/fixtures-dir.js';
import { eventually } from '../support/load-generator.js';
import { runCli, startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/** Generous: a request that should end at a 200 ms timeout may take this long on a loaded machine before the test calls it stuck. */
const STUCK_MS = 10_000;
const realNow = () => performance.timeOrigin + performance.now();

async function service(features: Record<string, object>): Promise<FeatureService> {
  const started = await startFeatureService(features);
  after(() => started.close());
  return started;
}

function enricher(name: string, url: string, overrides: Partial<EnricherConfig> = {}): EnricherConfig {
  return {
    name,
    url,
    timeoutMs: STUCK_MS,
    cacheTtlMs: 0,
    features: name === 'users' ? { age: { default: 30 }, basket: { path: 'stats.avgBasket', default: 0 } } : { price: { default: 1 }, category: {} },
    ...overrides,
  };
}

/** An Enrichment with its own registry and captured WARN lines; `now` is real unless a clock is given. */
function enrichmentOf(enrichers: EnricherConfig[], now: () => number = realNow) {
  const registry = new Registry();
  const warnings: Record<string, unknown>[] = [];
  const dependencies: EnrichmentDependencies = {
    fetch,
    now,
    metrics: new EnrichmentMetrics(registry),
    logger: createLogger({ service: 'test', level: 'warn', destination: { write: (line: string) => warnings.push(JSON.parse(line)) } }),
  };
  const enrichment = new Enrichment(enrichers, dependencies);
  const enrich = (entity: Record<string, string | number> = { userId: 'u1', productId: 42 }, deadlineInMs = STUCK_MS) =>
    enrichment.enrich(entity, { deadline: now() + deadlineInMs, requestId: `req-${Math.round(realNow())}` });
  const metric = async (name: string, labels: Record<string, string>) => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    return values.filter((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label)).reduce((sum, value) => sum + value.value, 0);
  };
  return { enrich, metric, warnings, registry };
}

const reasons = (outcome: { failures: { source: string; reason: string }[] }) => outcome.failures.map(({ source, reason }) => `${source}:${reason}`);

async function until(what: string, predicate: () => boolean): Promise<void> {
  const giveUpAt = realNow() + STUCK_MS;
  while (!predicate()) {
    if (realNow() > giveUpAt) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const USERS = { u1: { age: 41, stats: { avgBasket: 17.5 } }, 'a b/c': { age: 7 } };
const PRODUCTS = { '42': { price: 9.99, category: 'books' } };

test('two sources are fetched in parallel: both requests are in flight at once', async () => {
  const users = await service(USERS);
  const products = await service(PRODUCTS);
  users.setMode('hold');
  products.setMode('hold');
  const { enrich } = enrichmentOf([enricher('users', `${users.url}/users/{userId}`), enricher('products', `${products.url}/products/{productId}`)]);
  const pending = enrich();
  // Sequential fetching would leave products without a request while users is held.
  await until('both sources to have a request in flight', () => users.inFlight() === 1 && products.inFlight() === 1);
  users.release();
  products.release();
  const outcome = await pending;
  assert.deepEqual(outcome, { features: { age: 41, basket: 17.5, price: 9.99, category: 'books' }, defaulted: [], missing: [], failures: [] });
});

test('entity values are URL-encoded into the path', async () => {
  const users = await service(USERS);
  const { enrich } = enrichmentOf([enricher('users', `${users.url}/users/{userId}`)]);
  const outcome = await enrich({ userId: 'a b/c' });
  assert.deepEqual(outcome.features, { age: 7, basket: 0 });
  assert.deepEqual(users.paths(), ['/users/a%20b%2Fc']);
});

test('a source slower than its timeout: defaults, reason timeout, answered well before the deadline, connection abandoned', async () => {
  const users = await service(USERS);
  const products = await service(PRODUCTS);
  users.setMode('hold');
  const { enrich, warnings } = enrichmentOf([
    enricher('users', `${users.url}/users/{userId}`, { timeoutMs: 200 }),
    enricher('products', `${products.url}/products/{productId}`),
  ]);
  const deadline = realNow() + STUCK_MS;
  const outcome = await enrich({ userId: 'u1', productId: 42 }, STUCK_MS);
  assert.ok(realNow() < deadline, 'returned before the deadline');
  assert.deepEqual(reasons(outcome), ['users:timeout']);
  assert.deepEqual(outcome.features, { age: 30, basket: 0, price: 9.99, category: 'books' });
  assert.deepEqual(outcome.defaulted, ['age', 'basket']);
  await until('the timed-out request to be abandoned', () => users.inFlight() === 0);
  const warning = warnings.find((line) => line.level === 'warn' && line.source === 'users');
  assert.equal(warning?.reason, 'timeout');
  assert.match(String(warning?.requestId), /^req-/);
});

test('the request deadline bounds a call whose own timeout is longer', async () => {
  const users = await service(USERS);
  users.setMode('hold');
  const { enrich } = enrichmentOf([enricher('users', `${users.url}/users/{userId}`, { timeoutMs: 60_000 })]);
  const started = realNow();
  const outcome = await enrich({ userId: 'u1' }, 200);
  assert.deepEqual(reasons(outcome), ['users:timeout']);
  assert.ok(realNow() - started < 30_000, 'ended by the 200 ms deadline, not the 60 s timeout');
});

test('a source that is down or hangs up: reason network, defaults used', async () => {
  const dropping = await service(USERS);
  dropping.setMode('close');
  for (const url of [`${await unusedLocalUrl()}/users/{userId}`, `${dropping.url}/users/{userId}`]) {
    const { enrich } = enrichmentOf([enricher('users', url)]);
    const outcome = await enrich({ userId: 'u1' });
    assert.deepEqual(reasons(outcome), ['users:network'], url);
    assert.deepEqual(outcome.features, { age: 30, basket: 0 });
  }
});

test('a 500 is http_status and an HTML page is invalid_response', async () => {
  const users = await service(USERS);
  const { enrich } = enrichmentOf([enricher('users', `${users.url}/users/{userId}`)]);
  users.setMode('error');
  assert.deepEqual(reasons(await enrich()), ['users:http_status']);
  users.setMode('non-json');
  assert.deepEqual(reasons(await enrich()), ['users:invalid_response']);
});

test('breaker: opens after N failures (no requests while open), then closes after a successful trial, or re-opens after a failed one', async () => {
  const users = await service(USERS);
  const clock = { ms: 0 };
  const { enrich, metric } = enrichmentOf([enricher('users', `${users.url}/users/{userId}`, { breaker: { failureThreshold: 3, openMs: 10_000 } })], () => clock.ms);
  const open = () => metric('infermesh_gateway_enrichment_circuit_open', { source: 'users' });
  users.setMode('error');
  for (let call = 0; call < 3; call += 1) assert.deepEqual(reasons(await enrich()), ['users:http_status']);
  assert.equal(await open(), 1);
  for (let call = 0; call < 5; call += 1) {
    const outcome = await enrich();
    assert.deepEqual(reasons(outcome), ['users:circuit_open']);
    assert.deepEqual(outcome.features, { age: 30, basket: 0 });
  }
  assert.equal(users.requests(), 3, 'the open breaker sends nothing');

  clock.ms += 10_000;
  assert.deepEqual(reasons(await enrich()), ['users:http_status'], 'the trial call fails');
  assert.equal(users.requests(), 4);
  assert.deepEqual(reasons(await enrich()), ['users:circuit_open'], 're-opened');
  assert.equal(users.requests(), 4);

  users.setMode('normal');
  clock.ms += 10_000;
  assert.deepEqual((await enrich()).features, { age: 41, basket: 17.5 }, 'the trial succeeds');
  assert.equal(await open(), 0);
  await enrich();
  assert.equal(users.requests(), 6, 'closed again: every call reaches the source');
  assert.equal(await metric('infermesh_gateway_enrichment_failures_total', { source: 'users', reason: 'circuit_open' }), 6);
});

test('a cache hit avoids a second request', async () => {
  const products = await service(PRODUCTS);
  const { enrich, metric, registry } = enrichmentOf([enricher('products', `${products.url}/products/{productId}`, { cacheTtlMs: 60_000 })]);
  const first = await enrich();
  const second = await enrich();
  assert.deepEqual(second, first);
  assert.equal(products.requests(), 1);
  assert.equal(await metric('infermesh_gateway_enrichment_cache_lookups_total', { source: 'products', result: 'hit' }), 1);
  assert.match(await registry.metrics(), /infermesh_gateway_enrichment_duration_seconds_count\{source="products",outcome="cache_hit"\} 1/);
});

test('metrics show which source failed and why', async () => {
  const products = await service(PRODUCTS);
  const { enrich, metric, registry } = enrichmentOf([enricher('users', `${await unusedLocalUrl()}/users/{userId}`), enricher('products', `${products.url}/products/{productId}`)]);
  await enrich();
  await enrich();
  assert.equal(await metric('infermesh_gateway_enrichment_failures_total', { source: 'users', reason: 'network' }), 2);
  assert.equal(await metric('infermesh_gateway_enrichment_failures_total', { source: 'products' }), 0);
  const text = await registry.metrics();
  assert.match(text, /infermesh_gateway_enrichment_duration_seconds_count\{source="users",outcome="failed"\} 2/);
  assert.match(text, /infermesh_gateway_enrichment_duration_seconds_count\{source="products",outcome="ok"\} 2/);
  assert.match(text, /infermesh_gateway_enrichment_circuit_open\{source="users"\} 0/);
});

describe('through a gateway process: shared calls and bounded responses', () => {
  const registryDir = mkdtempSync(join(tmpdir(), 'gateway-enrichment-registry-'));
  const registryArgs = ['--registry-dir', registryDir];
  /** Features of u1 as the model reads them: avgBasket, visits. */
  const U1 = { u1: { avgBasket: 2, stats: { visits: 3 } } };
  /** One feature service and one model per test, so counters and caches start from zero. */
  const models = {
    merge: { source: 'merge-source', enricher: { cacheTtlMs: 1_000 } },
    mergeFail: { source: 'merge-fail-source', enricher: { cacheTtlMs: 60_000, breaker: { failureThreshold: 2, openMs: 60_000 } } },
    huge: { source: 'huge-source', enricher: {} },
    endless: { source: 'endless-source', enricher: { maxResponseBytes: 65_536 } },
  } as const;
  type ModelKey = keyof typeof models;
  const services = {} as Record<ModelKey, FeatureService>;
  let worker: WorkerProcess;
  let gateway: WorkerProcess;
  let base: string;

  /** Configures model `enrich-<key>` (served by the churn worker) with one enricher, through the CLI as an operator would. */
  async function configure(key: ModelKey): Promise<void> {
    const { source, enricher } = models[key];
    const config = {
      workerModel: 'churn',
      entityKeys: ['userId'],
      inputs: { age: { type: 'number' }, tenureYears: { type: 'number' } },
      enrichers: [
        {
          name: source,
          url: `${services[key].url}/users/{userId}`,
          timeoutMs: STUCK_MS,
          cacheTtlMs: 0,
          features: { avgBasket: { default: 0 }, visits: { path: 'stats.visits', default: 1 } },
          ...enricher,
        },
      ],
      tensors: { features: { datatype: 'FP32', shape: [4], from: ['inputs.age', 'inputs.tenureYears', 'features.avgBasket', 'features.visits'] } },
      deadlineMs: STUCK_MS,
      pool: { static: [worker.address] },
    };
    const file = join(registryDir, `${key}-config.json`);
    writeFileSync(file, JSON.stringify(config));
    const result = await runCli(['models', 'configure', `enrich-${key}`, '--file', file, ...registryArgs]);
    assert.equal(result.code, 0, result.stderr);
  }

  before(async () => {
    const fixtures = freshFixtures();
    worker = await startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256]);
    for (const key of Object.keys(models) as ModelKey[]) services[key] = await startFeatureService(U1);
    await Promise.all((Object.keys(models) as ModelKey[]).map(configure));
    gateway = await startGatewayProcess(registryArgs);
    base = `http://127.0.0.1:${gateway.port}`;
  });

  after(async () => {
    await gateway?.stop();
    await worker?.stop();
    await Promise.all(Object.values(services).map((started) => started.close()));
  });

  async function predict(key: ModelKey): Promise<{ status: number; body: { default?: boolean; defaultedFeatures?: string[] } }> {
    const response = await fetch(`${base}/v1/models/enrich-${key}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entity: { userId: 'u1' }, inputs: { age: 1, tenureYears: 1 } }),
    });
    return { status: response.status, body: (await response.json()) as { default?: boolean; defaultedFeatures?: string[] } };
  }

  /** The sum of a gateway metric's samples matching every given label. */
  async function gatewayMetric(name: string, labels: Record<string, string>): Promise<number> {
    const text = await (await fetch(`${base}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      const match = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
      if (match?.[1] !== name) continue;
      const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1], pair[2]]));
      if (Object.entries(labels).every(([label, value]) => found[label] === value)) sum += Number(match[3]);
    }
    return sum;
  }

  const lookups = (key: ModelKey, result: string) => gatewayMetric('infermesh_gateway_enrichment_cache_lookups_total', { source: models[key].source, result });

  test('50 concurrent predictions for one entity make one feature request; after the TTL the next one makes another', async () => {
    const features = services.merge;
    features.setMode('hold');
    const pending = Array.from({ length: 50 }, () => predict('merge'));
    // Every prediction is waiting on the one held request (arrived, so release() answers it) before it is answered.
    await eventually('49 predictions merged into the first one’s call', async () => features.inFlight() === 1 && (await lookups('merge', 'merged')) === 49, STUCK_MS);
    assert.equal(features.requests(), 1);
    assert.equal(await lookups('merge', 'miss'), 1);
    features.release();
    for (const { status, body } of await Promise.all(pending)) {
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.defaultedFeatures, undefined, 'every prediction got the real features');
    }
    assert.equal(features.requests(), 1);

    features.setMode('normal');
    await eventually('a request once the 1 s TTL has passed', async () => (await predict('merge')).status === 200 && features.requests() === 2, STUCK_MS);
  });

  test('the feature service failing the shared call: every waiter gets defaults, the breaker counts one failure, nothing is cached', async () => {
    const features = services.mergeFail;
    features.setMode('hold');
    const pending = Array.from({ length: 50 }, () => predict('mergeFail'));
    await eventually('49 predictions merged', async () => features.inFlight() === 1 && (await lookups('mergeFail', 'merged')) === 49, STUCK_MS);
    features.release('error');
    for (const { status, body } of await Promise.all(pending)) {
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(body.defaultedFeatures?.sort(), ['avgBasket', 'visits']);
    }
    assert.equal(features.requests(), 1);
    assert.equal(await gatewayMetric('infermesh_gateway_enrichment_failures_total', { source: models.mergeFail.source, reason: 'http_status' }), 50);

    features.setMode('normal');
    const next = await predict('mergeFail');
    assert.equal(next.body.defaultedFeatures, undefined, 'the failure was not cached, and one failed call did not open a breaker of threshold 2');
    assert.equal(features.requests(), 2);
  });

  const bounded: [ModelKey, string, FeatureServiceMode, string][] = [
    ['huge', 'a 50 MB body', { hugeBytes: 50 * 1024 * 1024 }, `Content-Length 52428800 exceeds the limit of ${DEFAULT_MAX_RESPONSE_BYTES} bytes`],
    ['endless', 'an endless chunked body', 'endless', 'more than the limit of 65536 bytes'],
  ];
  for (const [key, what, mode, message] of bounded) {
    test(`${what} is refused as invalid_response, the read stops, and the prediction answers with defaults`, async () => {
      const features = services[key];
      const { source } = models[key];
      features.setMode(mode);
      // Timeout and deadline are 10 s: defaults with reason invalid_response are the size bound at work, not a timeout.
      const { status, body } = await predict(key);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.default, false);
      assert.deepEqual(body.defaultedFeatures?.sort(), ['avgBasket', 'visits']);
      assert.equal(await gatewayMetric('infermesh_gateway_enrichment_failures_total', { source, reason: 'invalid_response' }), 1);
      // Log lines reach stdout in batches, at most 200 ms after they are written.
      await eventually(`a WARN saying: ${message}`, () => gateway.logs.some((line) => line.includes(`"source":"${source}"`) && line.includes(message)), 5_000);
      // The gateway hung up instead of reading on: the server saw its response cut short, having
      // handed the socket no more than kernel buffers hold, far from 50 MB or forever.
      await eventually('the feature service to see the connection closed', () => features.abandoned() === 1 && features.inFlight() === 0, STUCK_MS);
      assert.ok(features.bodyBytesSent() < 16 * 1024 * 1024, `${features.bodyBytesSent()} bytes sent before the hang-up`);
    });
  }
});
