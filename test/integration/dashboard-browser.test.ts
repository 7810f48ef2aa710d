/**
 * The dashboard in a real browser (Debian's headless Chromium driven by playwright-core)
 * against a real gateway on a file registry, whose records the test publishes under `stats/`
 * as an aggregator would: the page shows what the API says, follows a new record live and
 * across a gateway restart, its kill switch needs the admin token, data never becomes markup,
 * and all of it runs under the page's strict Content-Security-Policy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger, FileKvStore, InMemoryEventPublisher } from '@infermesh/shared';
import { createGateway, type Gateway } from '@infermesh/gateway';
import type { Browser, Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { buildGateway, launchChromium, watchProblems, type PageProblems } from '../support/dashboard-browser.js';
import { testGatewayConfig } from '../support/gateway-config.js';
import { eventually } from '../support/load-generator.js';

/** The gateway's shutdown grace: long, so that a stop that waited for open streams would show. */
const SHUTDOWN_GRACE_MS = 30_000;
const TOKEN = 'dashboard-admin-token-0123456789';
const MODEL = 'shop-ranker';
const MARKUP = '<img src=x onerror="window.__pwned=1">';
const EXPERIMENT = {
  entityKey: 'userId',
  policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 0 },
  variants: [
    { name: 'a', pool: { static: ['127.0.0.1:9'] } },
    { name: 'b', pool: { static: ['127.0.0.1:9'] } },
  ],
};

let registryDir: string;
let kv: FileKvStore;
let gateway: Gateway;
let port = 0;
let browser: Browser;
let base: string;

/** A record as the aggregator publishes it: `b` ahead with the given evidence; `extra` adds fields a newer aggregator writes. */
function record(sequence: number, trialsB: number, extra: Record<string, unknown> = {}, variantExtra: Record<string, unknown> = {}) {
  const now = Date.now();
  return {
    model: MODEL,
    sequence,
    generatedAt: now,
    variants: {
      a: { trials: 400, rewardSum: 40, rewardSumSquares: 40, updatedAt: now, share: 0.3, probabilityBest: 0.1 },
      b: { trials: trialsB, rewardSum: Math.round(trialsB * 0.15), rewardSumSquares: Math.round(trialsB * 0.15), updatedAt: now, share: 0.7, probabilityBest: 0.9, ...variantExtra },
    },
    layout: [['a', 0.3], ['b', 1]],
    ...extra,
  };
}

async function publish(value: unknown): Promise<void> {
  const current = await kv.get(`stats/${MODEL}`);
  assert.ok(await kv.compareAndSet(`stats/${MODEL}`, JSON.stringify(value), current?.index ?? 0));
}

async function startGateway(): Promise<void> {
  gateway = await createGateway(testGatewayConfig({ port, registryDir, experimentRecords: 'registry', adminToken: TOKEN, shutdownGraceMs: SHUTDOWN_GRACE_MS }), {
    logger: createLogger({ service: 'gateway', level: 'silent' }),
    registry: new Registry(),
    serverVersion: 'test',
    events: new InMemoryEventPublisher({ source: 'urn:test' }),
    watchWaitMs: 500,
  });
  await gateway.ready;
  port = gateway.port;
  base = `http://127.0.0.1:${port}`;
}

const api = async (path: string) => (await fetch(`${base}${path}`)).json() as Promise<any>;
const cell = (page: Page, variant: string, field: string) => page.locator(`tr[data-variant="${variant}"] [data-field="${field}"]`);

async function openDashboard(): Promise<{ page: Page; problems: PageProblems; headers: Record<string, string> }> {
  const page = await browser.newPage();
  const problems = await watchProblems(page);
  const response = await page.goto(`${base}/dashboard/${MODEL}`);
  assert.equal(response?.status(), 200);
  await cell(page, 'b', 'trials').waitFor();
  return { page, problems, headers: response!.headers() };
}

before(async () => {
  buildGateway();
  registryDir = mkdtempSync(join(tmpdir(), 'infermesh-dashboard-'));
  kv = new FileKvStore(registryDir);
  await kv.compareAndSet(`models/${MODEL}/config`, JSON.stringify({ inputs: { x: { type: 'number' } }, tensors: { features: { datatype: 'FP32', shape: [1], from: ['inputs.x'] } }, pool: { static: ['127.0.0.1:9'] } }), 0);
  await kv.compareAndSet(`experiments/${MODEL}`, JSON.stringify(EXPERIMENT), 0);
  await publish(record(1, 1000));
  browser = await launchChromium();
  await startGateway();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
});

test('the page shows the numbers GET /v1/experiments/{model} reports, under a strict CSP that it never violates', async () => {
  const { page, problems, headers } = await openDashboard();
  assert.match(headers['content-security-policy'] ?? '', /default-src 'none'; script-src 'self'; style-src 'self'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  await page.locator('[data-field="sequence"]', { hasText: '1' }).waitFor();
  const described = await api(`/v1/experiments/${MODEL}`);
  for (const variant of described.variants) {
    for (const field of ['share', 'trials', 'rewards', 'probabilityBest', 'healthyWorkers']) {
      assert.equal(await cell(page, variant.name, field).getAttribute('data-value'), String(variant[field]), `${variant.name} ${field}`);
    }
    assert.equal(await cell(page, variant.name, 'killSwitch').textContent(), 'on');
  }
  assert.equal(await page.locator('[data-field="sequence"]').textContent(), String(described.record.sequence));
  // This record (of an older aggregator) holds no summary: the gateway computes the interval exactly from the evidence,
  // and the page estimates the expected loss from the posterior, marked as an estimate.
  assert.equal(await cell(page, 'b', 'expectedLoss').getAttribute('data-estimated'), 'true');
  assert.match((await cell(page, 'b', 'interval').textContent()) ?? '', /^\[0\.1\d*, 0\.1\d*\]$/);
  assert.equal(await page.locator('#density-chart polyline').count(), 2, 'one density curve per live variant');
  const assetHeaders = (await fetch(`${base}/dashboard/assets/dashboard.js`)).headers;
  assert.match(assetHeaders.get('content-type') ?? '', /^text\/javascript/);
  assert.match(assetHeaders.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.deepEqual(problems, { violations: [], errors: [] });
  await page.close();
});

test('a new record reaches an open page by itself, without a reload (the latency is reported: the issue asks for under a second)', async (t) => {
  const { page, problems } = await openDashboard();
  const sequence = (await api(`/v1/experiments/${MODEL}`)).record.sequence as number;
  const written = Date.now();
  await publish(record(sequence + 1, 1234));
  await page.locator('tr[data-variant="b"] td[data-field="trials"][data-value="1234"]').waitFor({ timeout: 5_000 });
  // Reported, not asserted: a loaded CI machine must not fail a behaviour test on a timing (the page did update by itself).
  t.diagnostic(`record → dashboard: the page showed the record ${Date.now() - written} ms after it was published`);
  assert.equal(await page.locator('[data-field="sequence"]').textContent(), String(sequence + 1));
  assert.deepEqual(problems, { violations: [], errors: [] });
  await page.close();
});

test('the kill switch refuses without the admin token and disables the variant with it', async () => {
  const { page, problems } = await openDashboard();
  await page.locator('tr[data-variant="b"] button[data-action="toggle"]').click();
  await page.locator('#action-status.error').waitFor();
  assert.match((await page.locator('#action-status').textContent()) ?? '', /401 UNAUTHORIZED/);
  assert.equal((await api(`/v1/experiments/${MODEL}`)).variants.find((variant: { name: string }) => variant.name === 'b').enabled, true, 'nothing changed');

  await page.fill('#admin-token', TOKEN);
  await page.locator('tr[data-variant="b"] button[data-action="toggle"]').click();
  await page.locator('#action-status.ok').waitFor();
  assert.equal((await api(`/v1/experiments/${MODEL}`)).variants.find((variant: { name: string }) => variant.name === 'b').enabled, false);
  await page.locator('tr[data-variant="b"] [data-field="killSwitch"]', { hasText: 'off' }).waitFor({ timeout: 5_000 });

  // And back on, so the other tests see both variants live.
  await page.locator('tr[data-variant="b"] button[data-action="toggle"]').click();
  await page.locator('tr[data-variant="b"] [data-field="killSwitch"]', { hasText: /^on$/ }).waitFor({ timeout: 5_000 });
  assert.deepEqual(problems, { violations: [], errors: [] });
  await page.close();
});

test('a kill switch written against a revision that moved meanwhile is refused with 409, and the page says so', async () => {
  const { page, problems } = await openDashboard();
  const before = await api(`/v1/experiments/${MODEL}`);
  const stale = await fetch(`${base}/v1/experiments/${MODEL}`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'if-match': String(before.revision - 1) }, body: JSON.stringify(before.config) });
  assert.equal(stale.status, 409);
  assert.equal(((await stale.json()) as { error: { code: string } }).error.code, 'CONFLICT');
  // The page reads the revision just before writing: a change between that read and its PUT is what If-Match catches.
  await page.route(`**/v1/experiments/${MODEL}`, async (route) => {
    if (route.request().method() !== 'GET') return route.continue();
    const response = await route.fetch();
    const body = (await response.json()) as { revision: number };
    await route.fulfill({ response, json: { ...body, revision: body.revision - 1 } });
  });
  await page.fill('#admin-token', TOKEN);
  await page.locator('tr[data-variant="a"] button[data-action="toggle"]').click();
  await page.locator('#action-status.error', { hasText: '409 CONFLICT' }).waitFor();
  assert.equal((await api(`/v1/experiments/${MODEL}`)).variants.find((variant: { name: string }) => variant.name === 'a').enabled, true);
  assert.deepEqual(problems, { violations: [], errors: [] });
  await page.close();
});

test('fields a newer aggregator publishes (statistics, guardrail, conclusion) are shown as published, not estimated', async () => {
  const sequence = (await api(`/v1/experiments/${MODEL}`)).record.sequence as number;
  const at = Date.now();
  await publish(record(sequence + 1, 1600,
    { conclusion: { state: 'concluded', winner: 'b', since: at - 600_000, at, by: 'auto', promoted: { deployment: 'prod', version: 'v7' }, promotion: 'done', evidence: { sequence, probabilityBest: 0.97, expectedLoss: 0.0004, trials: 2000 } } },
    { mean: 0.151, interval: [0.133, 0.169], expectedLoss: 0.0004, measured: { predictions: 1600, errors: 3, defaults: 5, p99LatencyMs: 42 } }));
  const { page, problems } = await openDashboard();
  await page.locator('[data-field="conclusion"]', { hasText: 'concluded: b won (auto' }).waitFor({ timeout: 5_000 });
  assert.match((await page.locator('[data-field="conclusion"]').textContent()) ?? '', /v7 → prod \(done\); evidence: record \d+, P\(best\) 97\.0 %/);
  assert.equal(await cell(page, 'b', 'mean').getAttribute('data-value'), '0.151');
  assert.equal(await cell(page, 'b', 'interval').textContent(), '[0.133, 0.169]');
  assert.equal(await cell(page, 'b', 'expectedLoss').getAttribute('data-value'), '0.0004');
  assert.equal(await cell(page, 'b', 'expectedLoss').getAttribute('data-estimated'), null);
  assert.equal(await cell(page, 'b', 'guardrail').textContent(), 'ok (3 errors, 5 defaults, p99 42 ms)');
  // Variant a's record entry has none of them: estimated there, marked as such.
  assert.equal(await cell(page, 'a', 'expectedLoss').getAttribute('data-estimated'), 'true');
  assert.equal(await cell(page, 'a', 'guardrail').textContent(), '—');
  assert.deepEqual(problems, { violations: [], errors: [] });
  await page.close();
});

test('strings full of HTML from the record are shown as text and run nothing', async () => {
  // Names cannot hold markup (NAME_PATTERN); fields a record carries beyond the schema can.
  const sequence = (await api(`/v1/experiments/${MODEL}`)).record.sequence as number;
  await publish(record(sequence + 1, 1500, { conclusion: { state: MARKUP, winner: MARKUP } }, { guardrail: { metric: MARKUP, value: 0.5, max: 0.02, trippedAt: Date.now(), dryRun: false } }));
  const { page, problems } = await openDashboard();
  await page.locator('[data-field="conclusion"]', { hasText: MARKUP }).waitFor({ timeout: 5_000 });
  assert.match((await cell(page, 'b', 'guardrail').textContent()) ?? '', /tripped: <img src=x onerror="window.__pwned=1"> 0\.5 > 0\.02/);
  assert.equal(await page.locator('img').count(), 0);
  assert.equal(await page.evaluate('window.__pwned'), undefined);
  assert.deepEqual(problems, { violations: [], errors: [] });
  await page.close();
});

test('the index lists the model; an open page follows the experiment across a gateway restart', async () => {
  const page = await browser.newPage();
  const problems = await watchProblems(page);
  await page.goto(`${base}/dashboard`);
  await page.locator(`#experiments a[href="/dashboard/${MODEL}"]`).click();
  await cell(page, 'b', 'trials').waitFor();
  await page.locator('#connection.live').waitFor();

  await gateway.stop();
  await page.locator('#connection:not(.live)').waitFor({ timeout: 5_000 });
  const sequence = (JSON.parse((await kv.get(`stats/${MODEL}`))!.value) as { sequence: number }).sequence;
  await publish(record(sequence + 1, 2222));
  await startGateway();
  await page.locator('tr[data-variant="b"] td[data-field="trials"][data-value="2222"]').waitFor({ timeout: 10_000 });
  await page.locator('#connection.live').waitFor();
  assert.deepEqual(problems.violations, []);
  await page.close();
});

test('a stopping gateway ends its open streams instead of waiting for them', async () => {
  const response = await fetch(`${base}/v1/experiments/${MODEL}/stream`);
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = response.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /^retry: 1000\n\n/);
  const started = Date.now();
  await gateway.stop();
  // Waiting for the stream would take the whole shutdown grace; a sixth of it leaves a loaded machine room.
  assert.ok(Date.now() - started < SHUTDOWN_GRACE_MS / 6, `stop took ${Date.now() - started} ms with a stream open`);
  await eventually('the stream to end', async () => (await reader.read()).done === true, 5_000);
  await startGateway();
});

test('the built gateway finds the same compiled script as the gateway run from source', async () => {
  const built = (await import(new URL('../../packages/gateway/dist/dashboard/dashboard-assets.js', import.meta.url).href)) as typeof import('../../packages/gateway/src/dashboard/dashboard-assets.js');
  const fromDist = await new built.DashboardAssets().get('dashboard.js');
  assert.equal(fromDist.body, await (await fetch(`${base}/dashboard/assets/dashboard.js`)).text());
  assert.match((await new built.DashboardAssets().get('dashboard.css')).body, /style-src/);
});
