/**
 * What a client of the gateway sees when a real worker refuses or fails a call: the worker's
 * own code (the `infermesh-error-code` trailer) and the HTTP status that code maps to, on the
 * v1 and v2 routes, fast lane and express alike; an unexpected error's message never shows.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GATHER_SCORES } from '../fixtures/onnx/fixture-models.js';
import { freshFixtures } from '../support/fixtures-dir.js';
import { eventually } from '../support/load-generator.js';
import { runCli, startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const fixtures = freshFixtures();
const registryDir = mkdtempSync(join(tmpdir(), 'worker-errors-registry-'));
const registryArgs = ['--registry-dir', registryDir];
let worker: WorkerProcess;
let gateway: WorkerProcess;
let base: string;

async function configure(model: string, config: object): Promise<void> {
  const file = join(registryDir, `${model}-config.json`);
  writeFileSync(file, JSON.stringify(config));
  const result = await runCli(['models', 'configure', model, '--file', file, ...registryArgs]);
  assert.equal(result.code, 0, result.stderr);
}

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

const itemConfig = (overrides: object = {}) => ({
  entityKeys: ['userId'],
  inputs: { item: { type: 'integer' } },
  tensors: { item: { datatype: 'INT64', shape: [1], from: ['inputs.item'] } },
  deadlineMs: 10_000,
  pool: { static: [worker.address] },
  ...overrides,
});
const v2Item = (item: number, datatype = 'INT64') => ({ inputs: [{ name: 'item', shape: [1, 1], datatype, data: [item] }] });

before(async () => {
  worker = await startWorkerProcess(['--model', 'scores', '--version', 'v1', '--artifact', fixtures.gather.uri, '--sha256', fixtures.gather.sha256]);
  await configure('scores', itemConfig());
  // A gateway model whose pool serves another model: the worker answers NOT_FOUND (MODEL_NOT_FOUND).
  await configure('elsewhere', itemConfig({ workerModel: 'not-served-here' }));
  gateway = await startGatewayProcess(registryArgs);
  base = `http://127.0.0.1:${gateway.port}`;
  await eventually('both models configured', async () => (await fetch(`${base}/v2/models/elsewhere/ready`)).status === 200, 10_000);
});

after(async () => {
  await gateway?.stop();
  await worker?.stop();
});

describe('a worker error reaches the client with the worker’s code', () => {
  test('the model serves an item in range', async () => {
    const answer = await post('/v1/models/scores/predict', { entity: { userId: 'u1' }, inputs: { item: 1 } });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body.outputs.score, [[GATHER_SCORES[1]]]);
  });

  test('INFERENCE_FAILED: 500 with the code and the worker’s message, on every route (was INTERNAL with a fixed sentence)', async () => {
    const v1 = await post('/v1/models/scores/predict', { entity: { userId: 'u1' }, inputs: { item: 7 } });
    assert.equal(v1.status, 500);
    assert.equal(v1.body.error.code, 'INFERENCE_FAILED');
    assert.match(v1.body.error.message, /^model 'scores' version 'v1' failed: /);
    assert.deepEqual(v1.body.error.details, { grpcStatus: 'INTERNAL', workerCode: 'INFERENCE_FAILED' });
    for (const path of ['/v2/models/scores/infer', '/v2/models/scores/infer?via=express']) {
      const v2 = await post(path, v2Item(7));
      assert.equal(v2.status, 500, path);
      assert.equal(v2.body.code, 'INFERENCE_FAILED', path);
      assert.match(v2.body.error, /^model 'scores' version 'v1' failed: /, path);
    }
    // The instance answered: it is not ejected, and the next call is served.
    assert.equal((await post('/v2/models/scores/infer', v2Item(2))).status, 200);
  });

  test('INVALID_TENSOR: 400 with the worker’s message (unchanged)', async () => {
    const answer = await post('/v2/models/scores/infer', v2Item(1, 'FP32'));
    assert.equal(answer.status, 400, JSON.stringify(answer.body));
    assert.equal(answer.body.code, 'INVALID_TENSOR');
    assert.match(answer.body.error, /item/);
  });

  test('MODEL_NOT_FOUND from the worker: 404 (unchanged)', async () => {
    const answer = await post('/v1/models/elsewhere/predict', { entity: { userId: 'u1' }, inputs: { item: 1 } });
    assert.equal(answer.status, 404, JSON.stringify(answer.body));
    assert.equal(answer.body.error.code, 'MODEL_NOT_FOUND');
    assert.match(answer.body.error.message, /not served here/);
  });
});
