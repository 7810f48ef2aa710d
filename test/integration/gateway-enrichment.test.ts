import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createLogger } from '@infermesh/shared';
import { Registry } from 'prom-client';
import { Enrichment, EnrichmentMetrics, type EnricherConfig, type EnrichmentDependencies } from '@infermesh/gateway';
import { startFeatureService, unusedLocalUrl, type FeatureService } from '../support/feature-service.js';

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
