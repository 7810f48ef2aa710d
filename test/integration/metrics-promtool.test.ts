import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensurePromtool } from '../infra/install-promtool.js';
import { startFeatureService, type FeatureService } from '../support/feature-service.js';
import { eventually } from '../support/load-generator.js';
import { uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { runCli, startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

// Prometheus's own linter is the judge of our exposition: names, units, types, help text.
// Labelled series only appear once something happened, so the processes first serve
// predictions, refuse bad requests, reload a version and reject a corrupt one.

/** Milliseconds a promoted version may take to be served or rejected (generous: CI shares its cores). */
const RELOAD_TIMEOUT_MS = 60_000;
const registryDir = mkdtempSync(join(tmpdir(), 'infermesh-promtool-registry-'));
const registryArgs = ['--registry-dir', registryDir];
const model = uniqueModelName('promtool');
const prediction = { entity: { userId: 'u1' }, inputs: { age: 0.5, tenureYears: 1 } };
let promtool: string;
let features: FeatureService;
let worker: WorkerProcess;
let gateway: WorkerProcess;

async function models(...args: string[]): Promise<void> {
  const result = await runCli(['models', ...args, ...registryArgs]);
  assert.equal(result.code, 0, result.stderr);
}

async function predict(body: unknown): Promise<{ status: number; version?: string }> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/models/${model}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const parsed = (await response.json()) as { version?: string };
  return { status: response.status, ...(parsed.version === undefined ? {} : { version: parsed.version }) };
}

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  return response.text();
}

/** Runs `promtool check metrics` on an exposition; a clean one exits 0 and prints nothing. */
function promtoolCheck(exposition: string): { code: number | null; output: string } {
  const result = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (result.error !== undefined) throw result.error;
  return { code: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

before(async () => {
  promtool = await ensurePromtool();
  features = await startFeatureService({ u1: { avgBasket: 2, stats: { visits: 0.1 } } });
  const artifacts = writeVersionArtifacts();
  for (const version of ['v1', 'v2'] as const) await models('publish', model, version, '--uri', artifacts[version].path);
  await models('publish', model, 'bad-sha', '--uri', artifacts.v1.path, '--sha256', 'f'.repeat(64));
  await models('promote', model, 'prod', 'v1');
  worker = await startWorkerProcess(['--model', model, '--deployment', 'prod', ...registryArgs]);

  const configFile = join(registryDir, `${model}-config.json`);
  writeFileSync(configFile, JSON.stringify({
    entityKeys: ['userId'],
    inputs: { age: { type: 'number', minimum: 0 }, tenureYears: { type: 'number' } },
    enrichers: [{ name: 'user-features', url: `${features.url}/users/{userId}`, timeoutMs: 1_000, cacheTtlMs: 60_000, features: { avgBasket: { default: 0 }, visits: { path: 'stats.visits' } } }],
    tensors: { features: { datatype: 'FP32', shape: [4], from: ['inputs.age', 'inputs.tenureYears', 'features.avgBasket', 'features.visits'] } },
    deadlineMs: 5_000,
    pool: { static: [worker.address] },
  }));
  await models('configure', model, '--file', configFile);
  gateway = await startGatewayProcess(registryArgs);

  for (let i = 0; i < 3; i += 1) assert.equal((await predict(prediction)).status, 200);
  assert.equal((await predict({ entity: { userId: 'u1' }, inputs: { age: 'old', tenureYears: 1 } })).status, 400);
  await models('promote', model, 'prod', 'v2');
  await eventually('v2 serving through the gateway', async () => (await predict(prediction)).version === 'v2', RELOAD_TIMEOUT_MS);
  await models('promote', model, 'prod', 'bad-sha');
  await eventually('the corrupt version rejected', async () => (await scrape(worker.metricsPort)).includes('infermesh_worker_reload_failures_total{reason="ARTIFACT_CHECKSUM_MISMATCH"}'), RELOAD_TIMEOUT_MS);
});

after(async () => {
  await gateway?.stop();
  await worker?.stop();
  await features?.close();
});

test("the gateway's /metrics passes promtool check metrics", async () => {
  const exposition = await scrape(gateway.port);
  // The series the traffic above created are there, so the check covers their labels too.
  assert.match(exposition, /^infermesh_gateway_request_duration_seconds_count\{route="[^"]*predict[^"]*",model="[^"]+",status="400"\} 1$/m);
  assert.match(exposition, /^infermesh_gateway_worker_call_duration_seconds_count\{pool="[^"]+",instance="[^"]+",code="OK"\} [1-9]/m);
  assert.match(exposition, /^infermesh_gateway_enrichment_cache_lookups_total\{source="user-features",result="hit"\} [1-9]/m);
  assert.match(exposition, /^nodejs_active_handles\{type="[^"]+"\} \d+/m);
  assert.deepEqual(promtoolCheck(exposition), { code: 0, output: '' });
});

test("the worker's /metrics passes promtool check metrics", async () => {
  const exposition = await scrape(worker.metricsPort);
  assert.match(exposition, /^infermesh_worker_reloads_total [1-9]/m);
  assert.match(exposition, /^infermesh_worker_reload_stage_duration_seconds_count\{stage="load"\} [1-9]/m);
  assert.match(exposition, /^infermesh_worker_inference_duration_seconds_count\{model="[^"]+",version="v2"\} [1-9]/m);
  assert.match(exposition, /^nodejs_active_handles\{type="[^"]+"\} \d+/m);
  assert.deepEqual(promtoolCheck(exposition), { code: 0, output: '' });
});

test('promtool is not a rubber stamp: it flags a gauge named like a counter', () => {
  const misnamed = '# HELP demo_things_total Things.\n# TYPE demo_things_total gauge\ndemo_things_total 1\n';
  const result = promtoolCheck(misnamed);
  assert.notEqual(result.code, 0);
  assert.match(result.output, /demo_things_total non-counter metrics should not have "_total" suffix/);
});
