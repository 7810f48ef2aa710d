import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { status as grpcStatus } from '@grpc/grpc-js';
import { eventually, startLoad, versionRuns } from '../support/load-generator.js';
import { logisticRequest, uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { healthClient, inferenceClient, unary, type CallError } from '../support/proto-client.js';
import { runCli, startWorkerProcess } from '../support/worker-process.js';

test('embedded default: the file registry drives the same promote, reject and rollback cycle without Consul', async () => {
  const registryArgs = ['--registry-dir', mkdtempSync(join(tmpdir(), 'infermesh-registry-'))];
  const artifacts = writeVersionArtifacts();
  const model = uniqueModelName('filereg');
  const models = (...args: string[]) => runCli(['models', ...args, ...registryArgs]);
  for (const version of ['v1', 'v2'] as const) assert.equal((await models('publish', model, version, '--uri', artifacts[version].path)).code, 0);
  assert.equal((await models('publish', model, 'bad-sha', '--uri', artifacts.v1.path, '--sha256', 'f'.repeat(64))).code, 0);

  // The worker starts before anything is promoted: it waits, NOT_SERVING, for the first version.
  const worker = await startWorkerProcess(['--model', model, '--deployment', 'prod', ...registryArgs], { until: 'following deployment' });
  after(() => worker.stop());
  const client = inferenceClient(worker.address);
  after(() => client.close());
  const health = healthClient(worker.address);
  after(() => health.close());
  await eventually('the worker to find no deployment yet', () => worker.logs.some((line) => line.includes('deployment does not exist (yet); waiting for a promote')));
  assert.deepEqual(await unary(health, 'Check', { service: '' }), { status: 'NOT_SERVING' });
  await assert.rejects(
    unary(client, 'ModelInfer', logisticRequest(model)),
    (error: CallError) => error.code === grpcStatus.UNAVAILABLE && /no model is loaded/.test(error.details),
  );

  assert.equal((await models('promote', model, 'prod', 'v1')).code, 0);
  await eventually('SERVING once v1 is promoted', async () => (await unary<{ status: string }>(health, 'Check', { service: '' })).status === 'SERVING');

  const load = startLoad(client, logisticRequest(model), 16);
  await eventually('the load to be answered by v1', () => load.calls.some((call) => call.version === 'v1'));
  assert.equal((await models('promote', model, 'prod', 'v2')).code, 0);
  await eventually('v2 serving', () => load.calls.slice(-16).every((call) => call.version === 'v2'));
  assert.equal((await models('promote', model, 'prod', 'bad-sha')).code, 0);
  await eventually('checksum rejection logged', () => worker.logs.some((line) => line.includes('ARTIFACT_CHECKSUM_MISMATCH')));
  assert.equal((await models('rollback', model, 'prod')).code, 0);
  assert.equal((await models('rollback', model, 'prod')).code, 0);
  await eventually('back on v1', () => load.calls.slice(-16).every((call) => call.version === 'v1'));
  const calls = await load.stop();

  assert.deepEqual(calls.filter((call) => call.error !== undefined), []);
  assert.deepEqual(versionRuns(calls), ['v1', 'v2', 'v1']);
  const status = await models('status', model);
  assert.match(status.stdout, new RegExp(`${model}\\s+prod\\s+v1\\s+3\\s+n/a \\(no Consul catalog\\)`));
});
