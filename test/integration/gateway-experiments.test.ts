import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileKvStore } from '@infermesh/shared';
import { seededRandom } from '@infermesh/experiments';
import { eventually } from '../support/load-generator.js';
import { writeVersionArtifacts } from '../support/model-versions.js';
import { startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

/** Requests the simulated clients send while Thompson sampling learns. */
const LEARNING_REQUESTS = 2_000;
/** Click-through rates the simulated users have for each variant. */
const TRUE_RATES: Record<string, number> = { a: 0.05, b: 0.15 };
const ADMIN_TOKEN = 'test-admin-token';

const artifacts = writeVersionArtifacts();
const registryDir = mkdtempSync(join(tmpdir(), 'experiments-registry-'));
const kv = new FileKvStore(registryDir);
const workers: Record<string, WorkerProcess> = {};
let gateway: WorkerProcess;
let base: string;

const config = () => logisticModelConfig({ static: [workers.a!.address] }, { entityKeys: ['userId'], deadlineMs: 2_000 });
const thompson = (overrides: object = {}) => ({
  entityKey: 'userId',
  stickinessSeconds: 3_600,
  policy: { type: 'thompson', reward: 'binary', minShare: 0.01, minTrials: 50 },
  variants: [
    { name: 'a', pool: { static: [workers.a!.address] } },
    { name: 'b', pool: { static: [workers.b!.address] } },
    { name: 'shadow', role: 'shadow', pool: { static: [workers.shadow!.address] } },
  ],
  shadow: { fraction: 1, maxConcurrent: 4 },
  ...overrides,
});

interface Prediction {
  status: number;
  body: { requestId: string; predictionId: string; variant: string; version: string; feedbackToken: string; sticky: boolean; default: boolean; error?: { code: string; message: string } };
}

async function predict(userId: string, headers: Record<string, string> = {}): Promise<Prediction> {
  const response = await fetch(`${base}/v1/models/churn/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ entity: { userId }, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }),
  });
  return { status: response.status, body: (await response.json()) as Prediction['body'] };
}

async function feedback(body: unknown): Promise<{ status: number; body: { counted?: boolean; duplicate?: boolean; error?: { code: string } } }> {
  const response = await fetch(`${base}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as never };
}

async function putExperiment(experiment: object, token = ADMIN_TOKEN): Promise<number> {
  const response = await fetch(`${base}/v1/experiments/churn`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(experiment),
  });
  const body = (await response.json()) as { applied?: boolean; revision?: number };
  // A successful PUT is applied on this replica before it answers (read-your-writes).
  if (response.status === 200) assert.equal(body.applied, true);
  return response.status;
}

interface Summary {
  policy: { type: string };
  record: { sequence: number; generatedAt: number } | null;
  variants: { name: string; share: number; trials: number; rewards: number; probabilityBest: number; expectedLoss: number | null; mean: number; interval: [number, number]; posterior: { family: string } }[];
}

const summary = async (): Promise<Summary> => (await (await fetch(`${base}/v1/experiments/churn`)).json()) as Summary;
const rewardsCounted = async () => (await summary()).variants.reduce((sum, variant) => sum + variant.rewards, 0);

before(async () => {
  const [a, b, shadow] = await Promise.all(
    (['v1', 'v2', 'v3'] as const).map((version) => startWorkerProcess(['--model', 'churn', '--version', version, '--artifact', artifacts[version].path, '--sha256', artifacts[version].sha256])),
  );
  Object.assign(workers, { a, b, shadow });
  await kv.compareAndSet('models/churn/config', JSON.stringify(config()), 0);
  await kv.compareAndSet('experiments/churn', JSON.stringify(thompson()), 0);
  gateway = await startGatewayProcess([
    '--registry-dir', registryDir,
    '--admin-token', ADMIN_TOKEN,
    '--feedback-keys', 'k2:second-key-second-key-second-key-32b,k1:first-key-first-key-first-key-first-32',
    // Records every 100 ms: the simulated users below arrive much faster than real ones.
    '--record-interval-ms', '100',
  ]);
  base = `http://127.0.0.1:${gateway.port}`;
});

after(async () => {
  await gateway?.stop();
  await Promise.all(Object.values(workers).map((worker) => worker.stop()));
});

describe('experiments through the gateway', () => {
  test(`Thompson sampling moves traffic to the variant users reward more, while the floor keeps the other alive`, async () => {
    const rng = seededRandom('simulated-users');
    const served: string[] = [];
    for (let index = 0; index < LEARNING_REQUESTS; index += 1) {
      const { status, body } = await predict(`user-${index}`);
      assert.equal(status, 200, JSON.stringify(body));
      served.push(body.variant);
      const reward = rng() < (TRUE_RATES[body.variant] ?? 0) ? 1 : 0;
      assert.equal((await feedback({ feedbackToken: body.feedbackToken, reward })).status, 202);
    }
    const last = served.slice(-500);
    const shareB = last.filter((variant) => variant === 'b').length / last.length;
    console.log(`thompson: share of the better variant in requests ${LEARNING_REQUESTS - 500}–${LEARNING_REQUESTS}: ${(shareB * 100).toFixed(1)} %`);
    assert.ok(shareB > 0.7, `most traffic on the better variant (${(shareB * 100).toFixed(1)} %)`);
    assert.ok(!served.includes('shadow'), 'a shadow variant never answers a client');
    // The record the gateway routes by catches up with the last requests within one interval.
    let latest = await summary();
    await eventually('the record to count every trial', async () => {
      latest = await summary();
      return latest.variants.reduce((sum, variant) => sum + variant.trials, 0) === LEARNING_REQUESTS;
    });
    const byName = Object.fromEntries(latest.variants.map((variant) => [variant.name, variant]));
    assert.ok(byName.a!.share >= 0.01 - 1e-9, `the floor keeps the weaker variant alive (${byName.a!.share})`);
    assert.ok(byName.b!.probabilityBest > 0.9);
    // The record's statistics: the leader risks little, the other about the gap in means; intervals hold the means.
    assert.ok(byName.b!.expectedLoss! < byName.a!.expectedLoss!, JSON.stringify(latest.variants));
    for (const variant of [byName.a!, byName.b!]) {
      assert.equal(variant.posterior.family, 'beta');
      assert.ok(variant.interval[0] <= variant.mean && variant.mean <= variant.interval[1]);
    }
    assert.equal(byName.shadow!.share, 0);
    assert.equal(byName.shadow!.trials, 0);
  });

  test('the same entity keeps its variant within the window and the answer says so', async () => {
    const first = await predict('sticky-user');
    for (let index = 0; index < 10; index += 1) {
      const again = await predict('sticky-user');
      assert.equal(again.body.variant, first.body.variant);
      assert.equal(again.body.sticky, true);
    }
  });

  test('forged, malformed, replayed and out-of-range feedback is refused and does not count', async () => {
    const { body } = await predict('feedback-user');
    const [payload, signature] = body.feedbackToken.split('.') as [string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), variant: 'a' })).toString('base64url');
    const before = await rewardsCounted();
    assert.equal((await feedback({ feedbackToken: `${forgedPayload}.${signature}`, reward: 1 })).status, 401);
    assert.equal((await feedback({ feedbackToken: 'not-a-token', reward: 1 })).status, 400);
    assert.equal((await feedback({ feedbackToken: body.feedbackToken, reward: 0.5 })).status, 400);
    assert.equal((await feedback({ feedbackToken: body.feedbackToken })).status, 400);
    const counted = await feedback({ feedbackToken: body.feedbackToken, reward: 1 });
    assert.deepEqual([counted.status, counted.body.counted], [202, true]);
    const replayed = await feedback({ feedbackToken: body.feedbackToken, reward: 1 });
    assert.deepEqual([replayed.status, replayed.body.counted, replayed.body.duplicate], [200, false, true]);
    await eventually('the genuine reward to reach the record', async () => (await rewardsCounted()) - before >= 1);
    // Two more records later (the same content is stamped again every 100 ms) it is still exactly one: nothing refused was counted late.
    const generatedAt = (await summary()).record!.generatedAt;
    await eventually('two more records', async () => (await summary()).record!.generatedAt >= generatedAt + 200);
    assert.equal((await rewardsCounted()) - before, 1, 'only the one genuine reward counted');
  });

  test('predictions that reuse one client x-request-id are distinct predictions: each reward counts once', async () => {
    const answers = await Promise.all(['reuse-1', 'reuse-2', 'reuse-3'].map((user) => predict(user, { 'x-request-id': 'client-reused-id' })));
    assert.deepEqual(answers.map((answer) => answer.body.requestId), ['client-reused-id', 'client-reused-id', 'client-reused-id'], 'the client id is kept for correlation');
    assert.equal(new Set(answers.map((answer) => answer.body.predictionId)).size, 3, 'the server gives each prediction its own id');
    const before = await rewardsCounted();
    for (const answer of answers) {
      const counted = await feedback({ feedbackToken: answer.body.feedbackToken, reward: 1 });
      assert.deepEqual([counted.status, counted.body.counted], [202, true]);
    }
    await eventually('the three rewards to reach the record', async () => (await rewardsCounted()) - before >= 3);
    const generatedAt = (await summary()).record!.generatedAt;
    await eventually('one more record', async () => (await summary()).record!.generatedAt >= generatedAt + 100);
    assert.equal((await rewardsCounted()) - before, 3);
  });

  test('PUT needs the admin token and a valid config; weighted A/B then hits its shares; the kill switch takes a variant out', async () => {
    assert.equal(await putExperiment(thompson(), 'wrong-token'), 401);
    assert.equal(await putExperiment({ entityKey: 'userId', policy: { type: 'weighted' }, variants: [] }), 422, 'an invalid experiment is refused (INVALID_CONFIG)');
    const weighted = thompson({
      policy: { type: 'weighted' },
      variants: [
        { name: 'a', weight: 80, pool: { static: [workers.a!.address] } },
        { name: 'b', weight: 20, pool: { static: [workers.b!.address] } },
      ],
    });
    assert.equal(await putExperiment(weighted), 200);
    assert.equal((await summary()).policy.type, 'weighted', 'applied before the PUT answered');
    const counts: Record<string, number> = { a: 0, b: 0 };
    const requests = 1_000;
    for (let index = 0; index < requests; index += 1) {
      const { body } = await predict(`ab-user-${index}`);
      counts[body.variant] = (counts[body.variant] ?? 0) + 1;
    }
    // Binomial(1000, 0.2): standard deviation 12.6; four of them is a 1-in-15,000 false alarm.
    assert.ok(Math.abs(counts.b! - 200) < 4 * Math.sqrt(requests * 0.2 * 0.8), `b got ${counts.b} of ${requests}, expected about 200`);
    console.log(`weighted 80/20: b got ${counts.b} of ${requests}`);

    const killed = { ...weighted, variants: [{ ...weighted.variants[0], enabled: false }, weighted.variants[1]] };
    // Entities that were on a: after the PUT returns, not one more request may reach a.
    const onA = [];
    for (let index = 0; onA.length < 50 && index < 1_000; index += 1) if ((await predict(`was-a-${index}`)).body.variant === 'a') onA.push(`was-a-${index}`);
    assert.equal(onA.length, 50);
    assert.equal(await putExperiment(killed), 200);
    for (const userId of onA) assert.equal((await predict(userId)).body.variant, 'b', `${userId} still reached the killed variant`);
    for (let index = 0; index < 200; index += 1) assert.equal((await predict(`killed-${index}`)).body.variant, 'b');
  });

  test('shadow copies were compared and recorded without changing any client answer', async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /infermesh_gateway_shadow_requests_total\{model="churn",variant="shadow",outcome="compared"\} [1-9]/);
    assert.match(metrics, /infermesh_gateway_shadow_max_abs_diff_count\{model="churn",variant="shadow"\} [1-9]/);
  });
});
