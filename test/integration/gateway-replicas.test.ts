import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createLogger, FileKvStore } from '@infermesh/shared';
import { createGateway, type Gateway } from '@infermesh/gateway';
import { Registry } from 'prom-client';
import { writeVersionArtifacts } from '../support/model-versions.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const workers: WorkerProcess[] = [];
const gateways: Gateway[] = [];

async function predict(gateway: Gateway, entity: Record<string, string>): Promise<{ variant: string; sticky: boolean }> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/models/churn/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entity, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }),
  });
  assert.equal(response.status, 200);
  return (await response.json()) as { variant: string; sticky: boolean };
}

before(async () => {
  const artifacts = writeVersionArtifacts();
  workers.push(...(await Promise.all((['v1', 'v2'] as const).map((version) => startWorkerProcess(['--model', 'churn', '--version', version, '--artifact', artifacts[version].path, '--sha256', artifacts[version].sha256])))));
  const registryDir = mkdtempSync(join(tmpdir(), 'replicas-'));
  const kv = new FileKvStore(registryDir);
  await kv.compareAndSet('models/churn/config', JSON.stringify({
    inputs: { a: { type: 'number' }, b: { type: 'number' }, c: { type: 'number' }, d: { type: 'number' } },
    tensors: { features: { datatype: 'FP32', shape: [4], from: ['inputs.a', 'inputs.b', 'inputs.c', 'inputs.d'] } },
    pool: { static: [workers[0]!.address] },
  }), 0);
  // No warm-up and no statistics yet: the seeded posterior draw alone decides each entity's variant.
  await kv.compareAndSet('experiments/churn', JSON.stringify({
    entityKey: 'userId',
    policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 0 },
    variants: [{ name: 'a', pool: { static: [workers[0]!.address] } }, { name: 'b', pool: { static: [workers[1]!.address] } }],
  }), 0);
  for (let replica = 0; replica < 2; replica += 1) {
    // Each replica has its own process-local random source: only the seeded draw may make them agree.
    let state = replica + 1;
    const random = () => ((state = (state * 48271) % 2147483647) / 2147483647);
    const gateway = await createGateway(
      { host: '127.0.0.1', port: 0, registryDir, kvPrefix: 'infermesh/', maxBodyBytes: 65_536, logLevel: 'silent', shutdownGraceMs: 1_000, feedbackTtlSeconds: 3_600 },
      { logger: createLogger({ service: 'gateway', level: 'silent' }), registry: new Registry(), serverVersion: 'test', random },
    );
    await gateway.ready;
    gateways.push(gateway);
  }
});

after(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await Promise.all(workers.map((worker) => worker.stop()));
});

test('independently constructed gateways with the same statistics give every entity the same variant', async () => {
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(fc.string({ minLength: 1, maxLength: 30 }), async (userId) => {
      const [first, second] = await Promise.all(gateways.map((gateway) => predict(gateway, { userId })));
      assert.equal(first!.variant, second!.variant, `entity ${JSON.stringify(userId)}`);
      assert.equal(first!.sticky, true);
      seen.add(first!.variant);
    }),
    { numRuns: 150 },
  );
  assert.deepEqual([...seen].sort(), ['a', 'b'], 'both variants are assigned to someone');
});

test('without the entity key the policy routes per request and says the answer is not sticky', async () => {
  const answers = await Promise.all(Array.from({ length: 40 }, () => predict(gateways[0]!, {})));
  assert.ok(answers.every((answer) => answer.sticky === false));
  assert.deepEqual([...new Set(answers.map((answer) => answer.variant))].sort(), ['a', 'b']);
});
