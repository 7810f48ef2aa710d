import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, InfermeshError } from '@infermesh/shared';
import { Registry } from 'prom-client';
import type { EnricherConfig } from './enricher-config.js';
import { EnrichmentMetrics } from './enrichment-metrics.js';
import { Enrichment } from './enrichment.js';

type Reply = Response | Promise<Response> | 'refuse' | 'hang';

/** A fetch that answers per URL from a table, records what was asked, and never touches the network. */
function fakeFetch(replies: Record<string, () => Reply>) {
  const calls: { url: string; requestId: string | null; signal: AbortSignal | undefined }[] = [];
  const fetchFn = async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, requestId: new Headers(init?.headers).get('x-request-id'), signal: init?.signal ?? undefined });
    const reply = replies[url]?.() ?? new Response('not found', { status: 404 });
    if (reply === 'refuse') throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    if (reply === 'hang') {
      return new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    }
    return reply;
  };
  return { fetch: fetchFn as typeof fetch, calls };
}

const USERS: EnricherConfig = {
  name: 'users',
  url: 'http://features/users/{userId}',
  timeoutMs: 1_000,
  cacheTtlMs: 0,
  breaker: { failureThreshold: 2, openMs: 5_000 },
  features: { age: { default: 30 }, avgBasket: { path: 'stats.avgBasket', default: 0 }, segment: {} },
};
const PRODUCTS: EnricherConfig = {
  name: 'products',
  url: 'http://features/products/{productId}',
  timeoutMs: 1_000,
  cacheTtlMs: 0,
  features: { price: {}, category: { default: 'other' } },
};
const ENTITY = { userId: 'u1', productId: 42 };

function setup(enrichers: EnricherConfig[], replies: Record<string, () => Reply>) {
  const clock = { ms: 1_000_000 };
  const logs: Record<string, unknown>[] = [];
  const registry = new Registry();
  const fake = fakeFetch(replies);
  const enrichment = new Enrichment(enrichers, {
    fetch: fake.fetch,
    now: () => clock.ms,
    metrics: new EnrichmentMetrics(registry),
    logger: createLogger({ service: 'test', level: 'info', destination: { write: (line: string) => logs.push(JSON.parse(line)) } }),
  });
  const enrich = (entity: Record<string, string | number> = ENTITY, requestId = 'r1') => enrichment.enrich(entity, { deadline: clock.ms + 10_000, requestId });
  const metric = async (name: string, labels: Record<string, string>) => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    const found = values.find((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label));
    return found?.value ?? 0;
  };
  return { clock, logs, enrichment, enrich, calls: fake.calls, metric };
}

const ok = (body: unknown) => () => Response.json(body);

/** A reply the test sends when it chooses: every call made before `open` waits for it. */
function gate() {
  let open: (response: Response) => void = () => undefined;
  const promise = new Promise<Response>((resolve) => (open = resolve));
  return { reply: () => promise, open: (response: Response) => open(response) };
}

const reasonsOf = (outcomes: { failures: { reason: string }[] }[]) => [...new Set(outcomes.map((outcome) => outcome.failures.map((failure) => failure.reason).join(',')))];

test('merges every source’s features; null or absent values take the default, or are missing without one', async () => {
  const { enrich, calls, logs } = setup([USERS, PRODUCTS], {
    'http://features/users/u1': ok({ age: 41, stats: { avgBasket: null }, segment: 'gold' }),
    'http://features/products/42': ok({ price: 9.5 }),
  });
  const outcome = await enrich();
  assert.deepEqual(outcome, {
    features: { age: 41, avgBasket: 0, segment: 'gold', price: 9.5, category: 'other' },
    defaulted: ['avgBasket', 'category'],
    missing: [],
    failures: [],
  });
  assert.deepEqual(calls.map((call) => call.requestId), ['r1', 'r1'], 'the request id goes to the feature service');
  assert.equal(logs.filter((line) => line.level === 'warn').length, 0, 'lacking a feature is not a source failure');
});

test('a failing source: its features get defaults, the rest are missing, one WARN names source and reason', async () => {
  const { enrich, logs, metric } = setup([USERS, PRODUCTS], {
    'http://features/users/u1': () => new Response('boom', { status: 500 }),
    'http://features/products/42': ok({ price: 9.5, category: 'books' }),
  });
  const outcome = await enrich(ENTITY, 'req-7');
  assert.deepEqual(outcome.features, { age: 30, avgBasket: 0, price: 9.5, category: 'books' });
  assert.deepEqual(outcome.defaulted, ['age', 'avgBasket']);
  assert.deepEqual(outcome.missing, ['segment']);
  assert.deepEqual(outcome.failures, [{ source: 'users', reason: 'http_status', message: 'HTTP 500' }]);
  const warnings = logs.filter((line) => line.level === 'warn');
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.requestId, 'req-7');
  assert.equal(warnings[0]?.source, 'users');
  assert.equal(warnings[0]?.reason, 'http_status');
  assert.equal(await metric('infermesh_gateway_enrichment_failures_total', { source: 'users', reason: 'http_status' }), 1);
  assert.equal(await metric('infermesh_gateway_enrichment_failures_total', { source: 'products' }), 0);
});

test('each failure kind is classified', async () => {
  const cases: [Reply, string][] = [
    ['refuse', 'network'],
    [new Response('<html>', { status: 200 }), 'invalid_response'],
    [Response.json([1, 2]), 'invalid_response'],
    [new Response('', { status: 404 }), 'http_status'],
  ];
  for (const [reply, reason] of cases) {
    const { enrich } = setup([PRODUCTS], { 'http://features/products/42': () => reply });
    const outcome = await enrich();
    assert.deepEqual(outcome.failures.map((failure) => failure.reason), [reason]);
    assert.deepEqual(outcome.features, { category: 'other' });
  }
});

test('a url placeholder without an entity key fails as missing_entity_key without a request', async () => {
  const { enrich, calls } = setup([USERS, PRODUCTS], { 'http://features/products/42': ok({ price: 1 }) });
  const outcome = await enrich({ productId: 42 });
  assert.deepEqual(outcome.failures, [{ source: 'users', reason: 'missing_entity_key', message: 'entity has no value for userId' }]);
  assert.deepEqual(calls.map((call) => call.url), ['http://features/products/42']);
});

test('a request already past its deadline fails as timeout without a request or a breaker failure', async () => {
  const { enrichment, clock, calls } = setup([{ ...USERS, breaker: { failureThreshold: 1, openMs: 5_000 } }], {});
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const outcome = await enrichment.enrich(ENTITY, { deadline: clock.ms, requestId: 'r' });
    assert.deepEqual(outcome.failures.map((failure) => failure.reason), ['timeout']);
  }
  assert.equal(calls.length, 0);
});

test('the source’s own timeout counts against it; a timeout cut short by the request deadline does not', async () => {
  const hanging = { ...USERS, timeoutMs: 5, breaker: { failureThreshold: 1, openMs: 5_000 } };
  const cutShort = setup([{ ...hanging, timeoutMs: 60_000 }], { 'http://features/users/u1': () => 'hang' });
  const tight = await cutShort.enrichment.enrich(ENTITY, { deadline: cutShort.clock.ms + 5, requestId: 'r' });
  assert.deepEqual(tight.failures.map((failure) => failure.reason), ['timeout']);
  const again = await cutShort.enrichment.enrich(ENTITY, { deadline: cutShort.clock.ms + 5, requestId: 'r' });
  assert.deepEqual(again.failures.map((failure) => failure.reason), ['timeout'], 'breaker still closed');

  const own = setup([hanging], { 'http://features/users/u1': () => 'hang' });
  assert.deepEqual((await own.enrich()).failures.map((failure) => failure.reason), ['timeout']);
  assert.deepEqual((await own.enrich()).failures.map((failure) => failure.reason), ['circuit_open']);
});

test('cache: a hit within the TTL (age up to cacheTtlMs) makes no request; expiry fetches again; failures are not cached', async () => {
  let status = 200;
  const { enrich, calls, clock, metric } = setup([{ ...PRODUCTS, cacheTtlMs: 1_000 }], {
    'http://features/products/42': () => (status === 200 ? Response.json({ price: 3 }) : new Response('', { status })),
  });
  assert.deepEqual((await enrich()).features, { price: 3, category: 'other' });
  clock.ms += 999;
  assert.deepEqual((await enrich()).features, { price: 3, category: 'other' });
  assert.equal(calls.length, 1);
  clock.ms += 2;
  status = 503;
  assert.deepEqual((await enrich()).failures.map((failure) => failure.reason), ['http_status']);
  status = 200;
  await enrich();
  assert.equal(calls.length, 3, 'the failed response was not cached');
  assert.equal(await metric('infermesh_gateway_enrichment_cache_lookups_total', { source: 'products', result: 'hit' }), 1);
  assert.equal(await metric('infermesh_gateway_enrichment_cache_lookups_total', { source: 'products', result: 'miss' }), 3);
});

test('cache keys are per resolved URL: another entity is another entry', async () => {
  const { enrich, calls } = setup([{ ...PRODUCTS, cacheTtlMs: 1_000 }], { 'http://features/products/1': ok({ price: 1 }), 'http://features/products/2': ok({ price: 2 }) });
  assert.equal((await enrich({ productId: 1 })).features.price, 1);
  assert.equal((await enrich({ productId: 2 })).features.price, 2);
  assert.equal((await enrich({ productId: 1 })).features.price, 1);
  assert.equal(calls.length, 2);
});

test('breaker: opens after the threshold, fails fast with defaults, closes after a successful trial', async () => {
  let healthy = false;
  const { enrich, calls, clock, metric, logs } = setup([USERS], {
    'http://features/users/u1': () => (healthy ? Response.json({ age: 50, segment: 's' }) : new Response('', { status: 502 })),
  });
  await enrich();
  await enrich();
  assert.equal(await metric('infermesh_gateway_enrichment_circuit_open', { source: 'users' }), 1);
  const fast = await enrich();
  assert.deepEqual(fast.failures.map((failure) => failure.reason), ['circuit_open']);
  assert.deepEqual(fast.features, { age: 30, avgBasket: 0 });
  assert.equal(calls.length, 2, 'no request while open');
  healthy = true;
  clock.ms += 5_000;
  assert.deepEqual((await enrich()).failures, []);
  assert.equal(calls.length, 3);
  assert.equal(await metric('infermesh_gateway_enrichment_circuit_open', { source: 'users' }), 0);
  assert.ok(logs.some((line) => line.msg === 'feature source circuit opened; failing fast until the trial call' && line.source === 'users'));
});

test('breaker: 4xx answers come from a healthy source and never open it', async () => {
  const { enrich, calls } = setup([USERS], { 'http://features/users/u1': () => new Response('', { status: 404 }) });
  for (let attempt = 0; attempt < 5; attempt += 1) await enrich();
  assert.equal(calls.length, 5);
});

test('config errors no per-enricher schema can see: duplicate source or feature names', () => {
  assert.throws(() => setup([USERS, { ...PRODUCTS, name: 'users' }], {}), (error: InfermeshError) => error.code === 'INVALID_CONFIG' && /named 'users'/.test(error.message));
  assert.throws(
    () => setup([USERS, { ...PRODUCTS, features: { age: {} } }], {}),
    (error: InfermeshError) => error.code === 'INVALID_CONFIG' && /'age' comes from both 'users' and 'products'/.test(error.message),
  );
});

test('cache: concurrent misses of one entity share one call; every waiter gets the features; after the TTL another call', async () => {
  const held = gate();
  let replies = 0;
  const { enrichment, enrich, calls, clock, metric } = setup([{ ...PRODUCTS, cacheTtlMs: 1_000 }], {
    'http://features/products/42': () => ((replies += 1) === 1 ? held.reply() : Response.json({ price: 8, category: 'toys' })),
  });
  const pending = Array.from({ length: 50 }, (_, index) => enrichment.enrich(ENTITY, { deadline: clock.ms + 10_000, requestId: `r${index}` }));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls.length, 1, 'one call while 50 requests wait');
  assert.equal(calls[0]?.requestId, 'r0', 'the call carries the id of the request that started it');
  held.open(Response.json({ price: 7, category: 'toys' }));
  for (const outcome of await Promise.all(pending)) assert.deepEqual(outcome, { features: { price: 7, category: 'toys' }, defaulted: [], missing: [], failures: [] });
  assert.equal(await metric('infermesh_gateway_enrichment_cache_lookups_total', { source: 'products', result: 'miss' }), 1);
  assert.equal(await metric('infermesh_gateway_enrichment_cache_lookups_total', { source: 'products', result: 'merged' }), 49);

  assert.equal((await enrich()).features.price, 7);
  assert.equal(calls.length, 1, 'within the TTL: a hit');
  clock.ms += 1_001;
  assert.equal((await enrich()).features.price, 8);
  assert.equal(calls.length, 2, 'expired: a new call');
  assert.equal(await metric('infermesh_gateway_enrichment_cache_lookups_total', { source: 'products', result: 'hit' }), 1);
  assert.equal(await metric('infermesh_gateway_enrichment_cache_lookups_total', { source: 'products', result: 'miss' }), 2);
});

test('cache: a failing shared call gives every waiter the same failure and defaults, counts once against the breaker, and is not cached', async () => {
  const held = gate();
  let replies = 0;
  const { enrichment, enrich, calls, clock, metric, logs } = setup([{ ...USERS, cacheTtlMs: 60_000, breaker: { failureThreshold: 2, openMs: 5_000 } }], {
    'http://features/users/u1': () => ((replies += 1) === 1 ? held.reply() : Response.json({ age: 50, segment: 's' })),
  });
  const pending = Array.from({ length: 20 }, () => enrichment.enrich(ENTITY, { deadline: clock.ms + 10_000, requestId: 'r' }));
  await new Promise((resolve) => setImmediate(resolve));
  held.open(new Response('down', { status: 503 }));
  const outcomes = await Promise.all(pending);
  assert.deepEqual(reasonsOf(outcomes), ['http_status']);
  for (const outcome of outcomes) {
    assert.deepEqual(outcome.features, { age: 30, avgBasket: 0 });
    assert.deepEqual(outcome.failures, [{ source: 'users', reason: 'http_status', message: 'HTTP 503' }]);
  }
  assert.equal(calls.length, 1);
  assert.equal(await metric('infermesh_gateway_enrichment_failures_total', { source: 'users', reason: 'http_status' }), 20, 'each request that got defaults counts');
  assert.equal(logs.filter((line) => line.level === 'warn').length, 20);
  // Counted per waiter, 20 failures would have opened a breaker of threshold 2.
  assert.deepEqual((await enrich()).features, { age: 50, avgBasket: 0, segment: 's' }, 'not cached, breaker still closed');
  assert.equal(calls.length, 2);
});

test('cache: each request waits at most its own budget; a tight deadline times out while a loose one gets the shared call’s features', async () => {
  const held = gate();
  const { enrichment, clock, calls, metric, logs } = setup([{ ...USERS, timeoutMs: 60_000, cacheTtlMs: 60_000, breaker: { failureThreshold: 1, openMs: 5_000 } }], {
    'http://features/users/u1': held.reply,
  });
  // The tight request starts the call; the call must not inherit its 20 ms.
  const tight = enrichment.enrich(ENTITY, { deadline: clock.ms + 20, requestId: 'tight' });
  const loose = enrichment.enrich(ENTITY, { deadline: clock.ms + 10_000, requestId: 'loose' });
  const tightOutcome = await tight;
  assert.deepEqual(tightOutcome.failures.map((failure) => failure.reason), ['timeout']);
  assert.deepEqual(tightOutcome.features, { age: 30, avgBasket: 0 });
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.requestId, 'tight');
  assert.equal(calls[0]?.signal?.aborted, false, 'the shared call goes on after the tight request gave up');
  held.open(Response.json({ age: 44, segment: 'gold' }));
  assert.deepEqual((await loose).features, { age: 44, avgBasket: 0, segment: 'gold' });
  assert.equal(await metric('infermesh_gateway_enrichment_circuit_open', { source: 'users' }), 0, 'a caller’s deadline never blames the source');
  assert.ok(!logs.some((line) => line.msg === 'feature source circuit opened; failing fast until the trial call'));
  assert.deepEqual((await enrichment.enrich(ENTITY, { deadline: clock.ms + 5, requestId: 'later' })).features.age, 44, 'the result was cached for later requests');
});

test('cache: the shared call’s own timeout blames the source once, and every waiter sees a timeout', async () => {
  const { enrichment, clock, calls, metric } = setup([{ ...USERS, timeoutMs: 20, cacheTtlMs: 60_000, breaker: { failureThreshold: 1, openMs: 5_000 } }], {
    'http://features/users/u1': () => 'hang',
  });
  const outcomes = await Promise.all(Array.from({ length: 5 }, () => enrichment.enrich(ENTITY, { deadline: clock.ms + 10_000, requestId: 'r' })));
  assert.deepEqual(reasonsOf(outcomes), ['timeout']);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.signal?.aborted, true, 'the call was aborted at the source’s timeout');
  assert.equal(await metric('infermesh_gateway_enrichment_circuit_open', { source: 'users' }), 1);
  assert.deepEqual((await enrichment.enrich(ENTITY, { deadline: clock.ms + 10_000, requestId: 'r' })).failures.map((failure) => failure.reason), ['circuit_open']);
});

test('cache: the breaker is asked once per call, so the half-open trial serves every request waiting on it', async () => {
  let healthy = false;
  const held = gate();
  const { enrichment, enrich, calls, clock } = setup([{ ...USERS, cacheTtlMs: 60_000, breaker: { failureThreshold: 1, openMs: 5_000 } }], {
    'http://features/users/u1': () => (healthy ? held.reply() : new Response('', { status: 500 })),
  });
  await enrich();
  const whileOpen = await Promise.all(Array.from({ length: 10 }, () => enrich()));
  assert.deepEqual(reasonsOf(whileOpen), ['circuit_open']);
  assert.equal(calls.length, 1, 'nothing sent while open');

  healthy = true;
  clock.ms += 5_000;
  const pending = Array.from({ length: 10 }, () => enrichment.enrich(ENTITY, { deadline: clock.ms + 10_000, requestId: 'r' }));
  await new Promise((resolve) => setImmediate(resolve));
  held.open(Response.json({ age: 60, segment: 'x' }));
  const outcomes = await Promise.all(pending);
  assert.deepEqual(reasonsOf(outcomes), [''], 'no request was refused as circuit_open behind the trial');
  assert.equal(outcomes[9]?.features.age, 60);
  assert.equal(calls.length, 2);
});

test('cache: a request out of time still gets a cached value, but starts no call', async () => {
  const { enrichment, enrich, calls, clock, metric } = setup([{ ...PRODUCTS, cacheTtlMs: 60_000 }], { 'http://features/products/42': ok({ price: 5 }) });
  const late = await enrichment.enrich(ENTITY, { deadline: clock.ms, requestId: 'r' });
  assert.deepEqual(late.failures.map((failure) => failure.reason), ['timeout']);
  assert.equal(calls.length, 0);
  await enrich();
  const cached = await enrichment.enrich(ENTITY, { deadline: clock.ms, requestId: 'r' });
  assert.deepEqual(cached.features, { price: 5, category: 'other' });
  assert.equal(calls.length, 1);
  assert.equal(await metric('infermesh_gateway_enrichment_cache_lookups_total', { source: 'products', result: 'hit' }), 1);
});

test('cache: more distinct entities than cacheMaxEntries evict an in-flight call without cutting off its waiters', async () => {
  const first = gate();
  const second = gate();
  const { enrichment, enrich, clock, calls } = setup([{ ...PRODUCTS, cacheTtlMs: 60_000, cacheMaxEntries: 1 }], {
    'http://features/products/1': first.reply,
    'http://features/products/2': second.reply,
  });
  const one = enrichment.enrich({ productId: 1 }, { deadline: clock.ms + 10_000, requestId: 'r1' });
  const two = enrichment.enrich({ productId: 2 }, { deadline: clock.ms + 10_000, requestId: 'r2' });
  await new Promise((resolve) => setImmediate(resolve));
  first.open(Response.json({ price: 1 }));
  second.open(Response.json({ price: 2 }));
  assert.equal((await one).features.price, 1, 'evicted while in flight, still answered');
  assert.equal((await two).features.price, 2);
  assert.equal(calls.length, 2);
  await enrich({ productId: 2 });
  assert.equal(calls.length, 2, 'the bound keeps the most recent entity');
});
