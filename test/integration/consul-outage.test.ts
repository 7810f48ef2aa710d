import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startConsul } from '../infra/consul-agent.js';
import { eventually, startLoad, versionRuns } from '../support/load-generator.js';
import { logisticRequest, uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { inferenceClient } from '../support/proto-client.js';
import { runCli, startWorkerProcess } from '../support/worker-process.js';

/** How long Consul stays down, milliseconds: several blocking-query retries. */
const OUTAGE_MS = 3_000;

test('Consul stopped and restarted mid-run: serving never stops, and a promote after the restart is picked up', async () => {
  // A dedicated agent: stopping the shared one would disturb other test files.
  const agent = await startConsul();
  after(() => agent.stop());
  const artifacts = writeVersionArtifacts();
  const model = uniqueModelName('outage');
  const registryArgs = ['--consul', agent.httpAddr];
  for (const version of ['v1', 'v2'] as const) assert.equal((await runCli(['models', 'publish', model, version, '--uri', artifacts[version].path, ...registryArgs])).code, 0);
  assert.equal((await runCli(['models', 'promote', model, 'prod', 'v1', ...registryArgs])).code, 0);

  const worker = await startWorkerProcess(['--model', model, '--deployment', 'prod', ...registryArgs, '--register']);
  after(() => worker.stop());
  const client = inferenceClient(worker.address);
  after(() => client.close());
  const load = startLoad(client, logisticRequest(model), 8);

  await new Promise((resolve) => setTimeout(resolve, 500));
  await agent.stop();
  await eventually('the worker noticing the outage', () => worker.logs.some((line) => line.includes('watch failed; keeping the last known state')), 10_000);
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  const duringOutage = load.calls.filter((call) => call.version === 'v1').length;
  await agent.start();

  // A restarted agent may take a moment to accept writes (leader election under load): the operator retries.
  let promoted = { code: -1 as number | null, stderr: '' };
  await eventually('the promote to go through after the restart', async () => {
    promoted = await runCli(['models', 'promote', model, 'prod', 'v2', ...registryArgs]);
    return promoted.code === 0;
  }, 30_000, 500);
  await eventually('v2 serving after the restart', () => load.calls.slice(-8).every((call) => call.version === 'v2'), 30_000);
  const calls = await load.stop();

  assert.deepEqual(calls.filter((call) => call.error !== undefined).map((call) => call.error), []);
  assert.deepEqual(versionRuns(calls), ['v1', 'v2']);
  assert.ok(duringOutage > 100, `calls kept being served during the outage (${duringOutage})`);
  // Log lines reach stdout in batches, at most 200 ms after they are written.
  await eventually('the recovery logged', () => worker.logs.some((line) => line.includes('reachable again; resuming from the last index')), 5_000);
  const metrics = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
  assert.match(metrics, /infermesh_worker_registry_errors_total [1-9]/);
  assert.match(metrics, /infermesh_worker_reloads_total 2/);
});
