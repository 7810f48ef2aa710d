/**
 * A person ends an experiment: `infermesh experiments conclude MODEL --winner V` (POST
 * /v1/experiments/{model}/conclude) routes all live traffic to the winner and shows the
 * conclusion in GET /v1/experiments/{model}; `reopen` routes by the policy again. Admin token
 * required, same error model. Embedded gateway on a file registry (its in-process aggregator).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger, FileKvStore, InMemoryEventPublisher } from '@infermesh/shared';
import { createGateway, type Gateway } from '@infermesh/gateway';
import { Registry } from 'prom-client';
import { eventually } from '../support/load-generator.js';
import { testGatewayConfig } from '../support/gateway-config.js';
import { writeVersionArtifacts } from '../support/model-versions.js';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const ADMIN_TOKEN = 'conclude-admin-token';
let worker: WorkerProcess;
let gateway: Gateway;
let base: string;

before(async () => {
  const registryDir = mkdtempSync(join(tmpdir(), 'conclude-routes-'));
  const kv = new FileKvStore(registryDir);
  const artifacts = writeVersionArtifacts();
  worker = await startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', artifacts.v1.path, '--sha256', artifacts.v1.sha256]);
  await kv.compareAndSet('models/churn/config', JSON.stringify({
    inputs: { a: { type: 'number' }, b: { type: 'number' }, c: { type: 'number' }, d: { type: 'number' } },
    tensors: { features: { datatype: 'FP32', shape: [4], from: ['inputs.a', 'inputs.b', 'inputs.c', 'inputs.d'] } },
    pool: { static: [worker.address] },
  }), 0);
  const pool = { static: [worker.address] };
  await kv.compareAndSet('experiments/churn', JSON.stringify({
    entityKey: 'userId',
    policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 100 },
    variants: [{ name: 'a', pool }, { name: 'b', pool }, { name: 'c', pool }],
  }), 0);
  gateway = await createGateway(testGatewayConfig({ registryDir, adminToken: ADMIN_TOKEN, recordIntervalMs: 100 }), {
    logger: createLogger({ service: 'gateway', level: 'silent' }),
    registry: new Registry(),
    serverVersion: 'test',
    events: new InMemoryEventPublisher({ source: 'urn:test' }),
  });
  await gateway.ready;
  base = `http://127.0.0.1:${gateway.port}`;
});

after(async () => {
  await gateway?.stop();
  await worker?.stop();
});

interface View {
  conclusion: { state: string; winner: string; by: string; promotion: string } | null;
  concluded: { winner: string; at: number } | null;
  reopenedAt: number | null;
  variants: { name: string; share: number }[];
}
const view = async (): Promise<View> => (await (await fetch(`${base}/v1/experiments/churn`)).json()) as View;
const variantsServed = async (users: number) => {
  const served = new Set<string>();
  for (let index = 0; index < users; index += 1) {
    const response = await fetch(`${base}/v1/models/churn/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entity: { userId: `u${index}` }, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }) });
    assert.equal(response.status, 200);
    served.add(((await response.json()) as { variant: string }).variant);
  }
  return served;
};

test('conclude and reopen need the admin token and answer in the v1 error model', async () => {
  const response = await fetch(`${base}/v1/experiments/churn/conclude`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, body: '{}' });
  assert.equal(response.status, 401);
  assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
  const unknown = await fetch(`${base}/v1/experiments/churn/conclude`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ winner: 'zz' }) });
  assert.equal(unknown.status, 422);
  assert.equal((await view()).concluded, null, 'a refused conclusion changes nothing');
});

test('`infermesh experiments conclude --winner b` sends every user to b; `reopen` routes by the policy again', async () => {
  assert.ok((await variantsServed(60)).size > 1, 'the policy splits traffic before');
  const concluded = await runCli(['experiments', 'conclude', 'churn', '--winner', 'b', '--gateway', base, '--admin-token', ADMIN_TOKEN], { timeoutMs: 30_000 });
  assert.equal(concluded.code, 0, concluded.stderr);
  assert.match(concluded.stdout, /churn: concluded \(winner: b\)/);
  await eventually('the record to say concluded', async () => (await view()).conclusion?.state === 'concluded');
  const after = await view();
  assert.deepEqual({ winner: after.conclusion!.winner, by: after.conclusion!.by, promotion: after.conclusion!.promotion }, { winner: 'b', by: 'manual', promotion: 'none' });
  assert.deepEqual(after.variants.map((variant) => [variant.name, variant.share]), [['a', 0], ['b', 1], ['c', 0]]);
  assert.deepEqual([...(await variantsServed(60))], ['b']);

  const reopened = await runCli(['experiments', 'reopen', 'churn', '--gateway', base], { timeoutMs: 30_000 });
  assert.equal(reopened.code, 2, 'no token: a usage error');
  const again = await runCli(['experiments', 'reopen', 'churn', '--gateway', base, '--admin-token', ADMIN_TOKEN], { timeoutMs: 30_000 });
  assert.equal(again.code, 0, again.stderr);
  await eventually('the conclusion to be cleared', async () => (await view()).conclusion === null);
  const open = await view();
  assert.equal(open.concluded, null);
  assert.ok(open.reopenedAt !== null);
  assert.ok((await variantsServed(60)).size > 1);
});
