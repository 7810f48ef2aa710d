import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createLogger, FileKvStore } from '@infermesh/shared';
import { computeRecord, parseExperimentConfig, type ExperimentRecord } from '@infermesh/experiments';
import { createGateway, type Gateway } from '@infermesh/gateway';
import { Registry } from 'prom-client';
import { eventually } from '../support/load-generator.js';
import { testGatewayConfig } from '../support/gateway-config.js';
import { writeVersionArtifacts } from '../support/model-versions.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

const workers: WorkerProcess[] = [];
const gateways: Gateway[] = [];
const registries: Registry[] = [];
let kv: FileKvStore;

const EXPERIMENT = {
  entityKey: 'userId',
  policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 0 },
  variants: [{ name: 'a', pool: { static: [] as string[] } }, { name: 'b', pool: { static: [] as string[] } }],
};

interface Prediction {
  variant: string;
  sticky: boolean;
  feedbackToken: string;
}

async function predict(gateway: Gateway, entity: Record<string, string>): Promise<Prediction> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/models/churn/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entity, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }),
  });
  assert.equal(response.status, 200);
  return (await response.json()) as Prediction;
}

async function feedback(gateway: Gateway, token: string, reward: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ feedbackToken: token, reward }),
  });
  assert.ok(response.status === 202 || response.status === 200, `feedback answered ${response.status}`);
}

async function recordSequence(gateway: Gateway): Promise<number | null> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/experiments/churn`);
  return ((await response.json()) as { record: { sequence: number } | null }).record?.sequence ?? null;
}

/** Publishes the record an aggregator would compute from this evidence, as the aggregator does: under stats/churn. */
async function publish(previous: ExperimentRecord | undefined, evidence: Record<string, { trials: number; successes: number }>): Promise<ExperimentRecord> {
  const experiment = parseExperimentConfig('churn', JSON.stringify(EXPERIMENT));
  const now = Date.now();
  const statistics = Object.fromEntries(Object.entries(evidence).map(([name, { trials, successes }]) => [name, { trials, rewardSum: successes, rewardSumSquares: successes, updatedAt: now }]));
  const record = computeRecord({ model: 'churn', experiment, statistics, previous, now });
  const current = await kv.get('stats/churn');
  assert.ok(await kv.compareAndSet('stats/churn', JSON.stringify(record), current?.index ?? 0));
  await eventually(`both replicas to route by record ${record.sequence}`, async () => (await Promise.all(gateways.map(recordSequence))).every((sequence) => sequence === record.sequence));
  return record;
}

const pickReplica = () => gateways[Math.floor(Math.random() * gateways.length)]!;

before(async () => {
  const artifacts = writeVersionArtifacts();
  workers.push(...(await Promise.all((['v1', 'v2'] as const).map((version) => startWorkerProcess(['--model', 'churn', '--version', version, '--artifact', artifacts[version].path, '--sha256', artifacts[version].sha256])))));
  EXPERIMENT.variants[0]!.pool.static = [workers[0]!.address];
  EXPERIMENT.variants[1]!.pool.static = [workers[1]!.address];
  const registryDir = mkdtempSync(join(tmpdir(), 'replicas-'));
  kv = new FileKvStore(registryDir);
  await kv.compareAndSet('models/churn/config', JSON.stringify(logisticModelConfig({ static: [workers[0]!.address] })), 0);
  await kv.compareAndSet('experiments/churn', JSON.stringify(EXPERIMENT), 0);
  for (let replica = 0; replica < 2; replica += 1) {
    // Each replica has its own process-local random source: only the record and the entity may make them agree.
    let state = replica + 1;
    const random = () => ((state = (state * 48271) % 2147483647) / 2147483647);
    const registry = new Registry();
    const gateway = await createGateway(
      testGatewayConfig({ registryDir, feedbackKeys: 'k1:replicas-secret-replicas-secret-replicas-32', experimentRecords: 'registry' }),
      { logger: createLogger({ service: 'gateway', level: 'silent' }), registry, serverVersion: 'test', random, watchWaitMs: 500 },
    );
    await gateway.ready;
    gateways.push(gateway);
    registries.push(registry);
  }
});

after(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await Promise.all(workers.map((worker) => worker.stop()));
});

test('replicas that saw different traffic and feedback give every entity the same variant: they decide from the published record only', async () => {
  let record = await publish(undefined, { a: { trials: 400, successes: 20 }, b: { trials: 400, successes: 32 } });
  for (const round of [1, 2]) {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 4 }), async (userId, extra) => {
        // Uneven traffic: one replica serves the entity several times and gets its feedback, the other once.
        const busy = pickReplica();
        const quiet = gateways.find((gateway) => gateway !== busy)!;
        const answers = [];
        for (let call = 0; call < extra; call += 1) answers.push(await predict(busy, { userId }));
        for (const answer of answers) await feedback(pickReplica(), answer.feedbackToken, 1);
        const other = await predict(quiet, { userId });
        for (const answer of answers) assert.equal(answer.variant, other.variant, `entity ${JSON.stringify(userId)}, record ${record.sequence}`);
        assert.equal(other.sticky, true);
        seen.add(other.variant);
      }),
      { numRuns: 120 },
    );
    assert.deepEqual([...seen].sort(), ['a', 'b'], `both variants are assigned to someone under record ${record.sequence}`);
    // The next record moves traffic towards b: the replicas must agree again, on the new layout.
    if (round === 1) record = await publish(record, { a: { trials: 900, successes: 40 }, b: { trials: 900, successes: 80 } });
  }
});

test('an invalid record is refused: replicas keep routing by the one they hold, predictions keep answering, and the refusal is counted', async () => {
  const before = await recordSequence(gateways[0]!);
  assert.notEqual(before, null);
  const bad = { model: 'churn', sequence: 99, generatedAt: Date.now(), variants: { a: { trials: 1, rewardSum: 1, rewardSumSquares: 1, updatedAt: 1, share: 1, probabilityBest: 1 } }, layout: [['a', 0.5]] };
  const current = await kv.get('stats/churn');
  assert.ok(await kv.compareAndSet('stats/churn', JSON.stringify(bad).replace('"rewardSum":1', '"rewardSum":1e400'), current!.index));
  await eventually('both replicas to count the refusal', async () => {
    const texts = await Promise.all(registries.map((registry) => registry.getSingleMetricAsString('infermesh_gateway_experiment_record_rejections_total')));
    return texts.every((text) => text.includes('model="churn"} 1'));
  });
  assert.deepEqual(await Promise.all(gateways.map(recordSequence)), [before, before]);
  const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => predict(pickReplica(), { userId: `after-${index}` })));
  assert.ok(answers.every((answer) => answer.variant === 'a' || answer.variant === 'b'));
});

test('without the entity key the position is drawn at random and the answer says it is not sticky', async () => {
  // a keeps its 5 % floor: 200 draws all missing it has probability 0.95^200 ≈ 4e-5.
  const answers = await Promise.all(Array.from({ length: 200 }, () => predict(gateways[0]!, {})));
  assert.ok(answers.every((answer) => answer.sticky === false));
  assert.deepEqual([...new Set(answers.map((answer) => answer.variant))].sort(), ['a', 'b']);
});
