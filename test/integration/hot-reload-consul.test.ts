import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import { testConsul } from '../infra/test-infra.js';
import { eventually, startLoad, versionRuns } from '../support/load-generator.js';
import { logisticRequest, uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { inferenceClient } from '../support/proto-client.js';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/** Concurrent callers per worker during a promotion. */
const CALLERS = 16;

const artifacts = writeVersionArtifacts();
const model = uniqueModelName('churn');
let consul: { httpAddr: string; prefix: string };
let registryArgs: string[];
const workers: WorkerProcess[] = [];
const clients: Client[] = [];

async function models(...args: string[]) {
  return runCli(['models', ...args, ...registryArgs]);
}

async function scrape(worker: WorkerProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
}

interface CatalogEntry {
  Service: { ID: string; Port: number; Meta: Record<string, string> };
  Checks: { Status: string; ServiceID: string }[];
}

async function catalog(): Promise<CatalogEntry[]> {
  const entries = (await (await fetch(`${consul.httpAddr}/v1/health/service/infermesh-worker`)).json()) as CatalogEntry[];
  return entries.filter((entry) => entry.Service.Meta.model === model);
}

before(async () => {
  consul = await testConsul();
  registryArgs = ['--consul', consul.httpAddr, '--kv-prefix', consul.prefix];
  for (const version of ['v1', 'v2', 'v3'] as const) {
    const published = await models('publish', model, version, '--uri', `file://${artifacts[version].path}`);
    assert.equal(published.code, 0, published.stderr);
  }
  assert.equal((await models('promote', model, 'prod', 'v1')).code, 0);
  const started = await Promise.all(
    [0, 1].map(() => startWorkerProcess(['--model', model, '--deployment', 'prod', ...registryArgs, '--register', '--advertise-address', '127.0.0.1'])),
  );
  workers.push(...started);
  clients.push(...started.map((worker) => inferenceClient(worker.address)));
});

after(async () => {
  for (const client of clients) client.close();
  await Promise.all(workers.map((worker) => worker.stop()));
});

describe('hot reload from Consul KV', () => {
  test('workers register in the catalog with model, deployment and version meta, and pass their gRPC check', async () => {
    await eventually('both workers passing in the catalog', async () => {
      const entries = await catalog();
      return entries.length === 2 && entries.every((entry) => entry.Checks.every((check) => check.Status === 'passing'));
    });
    for (const entry of await catalog()) assert.deepEqual(entry.Service.Meta, { model, deployment: 'prod', version: 'v1' });
  });

  test(`promote v1 → v2 under ${CALLERS} concurrent callers per worker: no failed call, each worker switches exactly once`, async () => {
    const loads = clients.map((client) => startLoad(client, logisticRequest(model), CALLERS));
    // Every caller busy on v1 before the promote, and again on v2 after the switch: the swap
    // happens under full concurrency (a count, not a throughput, so a busy machine cannot fail it).
    const answeredBy = (version: string) => (load: (typeof loads)[number]) => load.calls.filter((call) => call.version === version).length;
    await eventually('every worker answering v1 under load', () => loads.every((load) => answeredBy('v1')(load) >= 4 * CALLERS));
    const promoted = await models('promote', model, 'prod', 'v2');
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.match(promoted.stdout, /promoted .*prod to v2 \(was v1\)/);
    await eventually('every worker answering with v2', () => loads.every((load) => load.calls.slice(-CALLERS).every((call) => call.version === 'v2')));
    await eventually('every worker answering v2 under load', () => loads.every((load) => answeredBy('v2')(load) >= 4 * CALLERS));
    const results = await Promise.all(loads.map((load) => load.stop()));
    for (const calls of results) {
      const failed = calls.filter((call) => call.error !== undefined);
      assert.deepEqual(failed, [], `failed calls: ${failed.slice(0, 3).map((call) => call.error).join('; ')}`);
      assert.deepEqual(versionRuns(calls), ['v1', 'v2'], 'responses in issue order switch from v1 to v2 exactly once');
    }
    await eventually('catalog meta updated to v2', async () => (await catalog()).every((entry) => entry.Service.Meta.version === 'v2'));
    const status = await models('status', model);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`${model}\\s+prod\\s+v2\\s+3\\s+v2: 2 \\(2 passing\\)`));
  });

  test('a version with a wrong checksum, a corrupt file or other inputs is rejected; v2 keeps serving', async () => {
    const wrongSha = '0'.repeat(64);
    assert.equal((await models('publish', model, 'bad-sha', '--uri', artifacts.v3.path, '--sha256', wrongSha)).code, 0);
    assert.equal((await models('publish', model, 'corrupt', '--uri', artifacts.corrupt.path)).code, 0);
    assert.equal((await models('publish', model, 'other-inputs', '--uri', artifacts.otherInputs.path)).code, 0);
    const loads = clients.map((client) => startLoad(client, logisticRequest(model), 4));
    for (const [version, reason] of [
      ['bad-sha', 'ARTIFACT_CHECKSUM_MISMATCH'],
      ['corrupt', 'ARTIFACT_CORRUPT'],
      ['other-inputs', 'INCOMPATIBLE_MODEL'],
    ] as const) {
      assert.equal((await models('promote', model, 'prod', version)).code, 0);
      for (const worker of workers) {
        await eventually(`${reason} counted`, async () => new RegExp(`infermesh_worker_reload_failures_total\\{reason="${reason}"\\} 1`).test(await scrape(worker)));
      }
    }
    const results = await Promise.all(loads.map((load) => load.stop()));
    for (const calls of results) {
      assert.deepEqual(calls.filter((call) => call.error !== undefined), []);
      assert.deepEqual(versionRuns(calls), ['v2']);
    }
    for (const worker of workers) {
      // Log lines reach stdout in batches, at most 200 ms after they are written.
      await eventually('the rejection logged at WARN', () => worker.logs.some((line) => line.includes('"level":"warn"') && line.includes('new version rejected') && line.includes('ARTIFACT_CHECKSUM_MISMATCH')), 5_000);
    }
    for (const entry of await catalog()) assert.equal(entry.Checks.every((check) => check.Status === 'passing'), true, 'health stays SERVING');
    // Back to a good version: the next change is picked up as usual.
    assert.equal((await models('promote', model, 'prod', 'v3')).code, 0);
    await eventually('v3 serving', async () => (await catalog()).every((entry) => entry.Service.Meta.version === 'v3'));
  });

  test('two concurrent guarded promotes: exactly one wins, the other reports the conflict', async () => {
    const [first, second] = await Promise.all([
      models('promote', model, 'prod', 'v1', '--if-version', 'v3'),
      models('promote', model, 'prod', 'v2', '--if-version', 'v3'),
    ]);
    const codes = [first.code, second.code].sort();
    assert.deepEqual(codes, [0, 3], `${first.stderr}${second.stderr}`);
    const loser = first.code === 3 ? first : second;
    assert.match(loser.stderr, /\[CONFLICT\] deployment 'prod' .* now serves '(v1|v2)'/);
  });

  test('rollback returns to the previous version and workers follow', async () => {
    const before = await models('status', model, '--json');
    const desired = (JSON.parse(before.stdout) as { deployments: { desired: string }[] }).deployments[0]?.desired;
    const rolledBack = await models('rollback', model, 'prod');
    assert.equal(rolledBack.code, 0, rolledBack.stderr);
    assert.match(rolledBack.stdout, /rolled back .* to v3/);
    assert.notEqual(desired, 'v3');
    await eventually('workers back on v3', async () => (await catalog()).every((entry) => entry.Service.Meta.version === 'v3'));
  });

  test('SIGTERM deregisters the worker from the catalog', async () => {
    const worker = workers.pop()!;
    clients.pop()!.close();
    assert.equal(await worker.stop(), 0);
    await eventually('one worker left in the catalog', async () => (await catalog()).length === 1);
  });
});
