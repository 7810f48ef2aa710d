import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { validateEvent } from '@infermesh/shared';
import { testKafka } from '../infra/test-infra.js';
import { consumeUntil, type ConsumedEvent } from '../support/events-support.js';
import { eventually } from '../support/load-generator.js';
import { writeVersionArtifacts } from '../support/model-versions.js';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const registryDir = mkdtempSync(join(tmpdir(), 'lifecycle-events-'));
const prefix = `lifecycle-${randomUUID().slice(0, 8)}.`;
let brokers: string[];
let worker: WorkerProcess;

const models = (...args: string[]) => runCli(['models', ...args, '--registry-dir', registryDir]);

before(async () => {
  brokers = (await testKafka()).brokers;
  const artifacts = writeVersionArtifacts();
  for (const version of ['v1', 'v2'] as const) assert.equal((await models('publish', 'churn', version, '--uri', artifacts[version].path)).code, 0);
  // A model with other inputs than the one serving: refused at the compatibility stage.
  assert.equal((await models('publish', 'churn', 'other', '--uri', artifacts.otherInputs.path)).code, 0);
  assert.equal((await models('promote', 'churn', 'prod', 'v1')).code, 0);
  worker = await startWorkerProcess(['--model', 'churn', '--deployment', 'prod', '--registry-dir', registryDir, '--kafka-brokers', brokers.join(','), '--events-topic-prefix', prefix]);
});

after(() => worker?.stop());

test('a worker publishes each reload, successful or refused, as a lifecycle event on Kafka', async () => {
  assert.equal((await models('promote', 'churn', 'prod', 'other')).code, 0);
  await eventually('the incompatible version to be refused', () => worker.logs.some((line) => line.includes('new version rejected')));
  assert.equal((await models('promote', 'churn', 'prod', 'v2')).code, 0);
  const lifecycle = (events: readonly ConsumedEvent[]) => events.map((event) => event.envelope.data as { toVersion: string; fromVersion: string | null; stage?: string; errorCode?: string });
  const consumed = await consumeUntil(brokers, [`${prefix}lifecycle`], (events) => events.length >= 3, 60_000);
  for (const event of consumed) assert.deepEqual(validateEvent(event.envelope), [], JSON.stringify(event.envelope));
  assert.deepEqual(consumed.map((event) => event.envelope.type), ['infermesh.model.reloaded', 'infermesh.model.reload_failed', 'infermesh.model.reloaded']);
  const [first, refused, second] = lifecycle(consumed);
  assert.deepEqual([first!.fromVersion, first!.toVersion], [null, 'v1']);
  assert.deepEqual([refused!.fromVersion, refused!.toVersion, refused!.stage, refused!.errorCode], ['v1', 'other', 'compatibility', 'INCOMPATIBLE_MODEL']);
  assert.deepEqual([second!.fromVersion, second!.toVersion], ['v1', 'v2']);
  assert.ok(consumed.every((event) => event.key === 'churn' && (event.envelope.data as { worker: string }).worker === worker.address), 'keyed by model, naming the worker');
});
