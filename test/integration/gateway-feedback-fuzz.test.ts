import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createLogger, FileKvStore } from '@infermesh/shared';
import { createGateway, type Gateway } from '@infermesh/gateway';
import { Registry } from 'prom-client';
import { freshFixtures } from '../support/fixtures-dir.js';
import { testGatewayConfig } from '../support/gateway-config.js';
import { eventually } from '../support/load-generator.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

/** One experiment per kind of reward the gateway accepts. */
const EXPERIMENTS: Record<string, object> = {
  binary: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 0 },
  continuous: { type: 'thompson', reward: 'continuous', minShare: 0.05, minTrials: 0, discountPerHour: 0.5 },
  bounded: { type: 'thompson', reward: 'continuous', minShare: 0.05, minTrials: 0, rewardRange: { min: 0, max: 50 } },
  weighted: { type: 'weighted', reward: 'continuous' },
};
/** Valid tokens per model the fuzzer redeems, repeatedly. */
const TOKENS_PER_MODEL = 25;

let worker: WorkerProcess;
let gateway: Gateway;
let base: string;
const tokens: Record<string, string[]> = {};

async function predict(model: string, userId: string): Promise<{ status: number; body: { feedbackToken?: string; variant?: string } }> {
  const response = await fetch(`${base}/v1/models/${model}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entity: { userId }, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

/** Every number anywhere in a JSON value; JSON has no Infinity or NaN, so a poisoned statistic shows up as null instead. */
/** What GET /v1/experiments reports of a variant's evidence and posterior: the numbers the fuzzed rewards flow into. */
const STATISTICS_FIELDS = ['trials', 'rewards', 'rewardMean', 'posterior', 'posteriorMean', 'mean', 'interval', 'probabilityBest', 'expectedLoss', 'share'] as const;

function numbersAndNulls(value: unknown, path = ''): { path: string; value: number | null }[] {
  if (typeof value === 'number' || value === null) return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => numbersAndNulls(item, `${path}[${index}]`));
  if (typeof value === 'object') return Object.entries(value as object).flatMap(([key, item]) => numbersAndNulls(item, `${path}.${key}`));
  return [];
}

before(async () => {
  const fixtures = freshFixtures();
  worker = await startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', fixtures.logistic.uri, '--sha256', fixtures.logistic.sha256]);
  const registryDir = mkdtempSync(join(tmpdir(), 'feedback-fuzz-'));
  const kv = new FileKvStore(registryDir);
  for (const [model, policy] of Object.entries(EXPERIMENTS)) {
    await kv.compareAndSet(`models/${model}/config`, JSON.stringify(logisticModelConfig({ static: [worker.address] }, { workerModel: 'churn', entityKeys: ['userId'] })), 0);
    await kv.compareAndSet(`experiments/${model}`, JSON.stringify({
      entityKey: 'userId',
      policy,
      variants: [{ name: 'a', weight: 3, pool: { static: [worker.address] } }, { name: 'b', pool: { static: [worker.address] } }],
    }), 0);
  }
  gateway = await createGateway(
    testGatewayConfig({ registryDir, feedbackKeys: 'k1:feedback-fuzz-secret-feedback-fuzz-32', recordIntervalMs: 50 }),
    { logger: createLogger({ service: 'gateway', level: 'silent' }), registry: new Registry(), serverVersion: 'test' },
  );
  await gateway.ready;
  base = `http://127.0.0.1:${gateway.port}`;
  for (const model of Object.keys(EXPERIMENTS)) {
    tokens[model] = [];
    for (let index = 0; index < TOKENS_PER_MODEL; index += 1) {
      const { status, body } = await predict(model, `user-${index}`);
      assert.equal(status, 200);
      tokens[model]!.push(body.feedbackToken!);
    }
  }
});

after(async () => {
  await gateway?.stop();
  await worker?.stop();
});

/** A reward as it appears in the JSON text: extreme, malformed, or ordinary. */
const rewardText = fc.oneof(
  fc.constantFrom('1e308', '-1e308', '1e154', '1.7976931348623157e308', '1e400', '-1e400', '5e-324', '-0', '0', '1', '50', '50.0000001', '1e6', '1000001', '-1e6', '9007199254740993', 'NaN', 'Infinity', 'null', 'true', '"1"', '[]', '{}', '1e', '--1', '0x10'),
  fc.double({ noNaN: false }).map((value) => String(value)),
  fc.double({ min: -60, max: 60, noNaN: true }).map((value) => String(value)),
  fc.integer({ min: -2, max: 3 }).map(String),
);

test('valid tokens with extreme, malformed and repeated rewards: no 5xx, clear 4xx codes, statistics stay finite, predictions keep working', async () => {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...Object.keys(EXPERIMENTS)), fc.nat(TOKENS_PER_MODEL - 1), rewardText, async (model, index, reward) => {
      const response = await fetch(`${base}/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"feedbackToken": ${JSON.stringify(tokens[model]![index])}, "reward": ${reward}}`,
      });
      const body = (await response.json()) as { counted?: boolean; error?: { code: string } };
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      assert.ok(response.status < 500, `${model} reward ${reward}: ${response.status} ${JSON.stringify(body)}`);
      if (response.status >= 400) assert.ok(['INVALID_ARGUMENT', 'MALFORMED_JSON'].includes(body.error?.code ?? ''), `${reward}: ${JSON.stringify(body)}`);
    }),
    { numRuns: 800 },
  );
  console.log(`feedback fuzz: statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.ok((statuses.get(202) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, 'counted, duplicate and refused rewards were all exercised');

  // Let the records take in every counted reward, then check nothing became non-finite.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const listing = await fetch(`${base}/v1/experiments`);
  assert.equal(listing.status, 200);
  const { experiments } = (await listing.json()) as { experiments: { model: string; error?: object; variants: object[] }[] };
  assert.deepEqual(experiments.map((experiment) => experiment.model).sort(), Object.keys(EXPERIMENTS).sort());
  for (const experiment of experiments) {
    assert.equal(experiment.error, undefined, JSON.stringify(experiment));
    // The statistics, where a null is a NaN or an infinity that JSON could not carry (guardrail, deployment and the like are null by design).
    const statistics = experiment.variants.map((variant) => Object.fromEntries(STATISTICS_FIELDS.map((field) => [field, (variant as Record<string, unknown>)[field]])));
    const bad = numbersAndNulls(statistics).filter(({ value }) => value === null || !Number.isFinite(value));
    assert.deepEqual(bad, [], `${experiment.model}: non-finite statistics`);
  }
  for (const model of Object.keys(EXPERIMENTS)) {
    for (let index = 0; index < 10; index += 1) assert.equal((await predict(model, `after-${index}`)).status, 200, `${model} still predicts`);
  }
});

test('a reward outside the declared range is refused with the range named, and never counted', async () => {
  const before = (await (await fetch(`${base}/v1/experiments/bounded`)).json()) as { variants: { rewards: number }[] };
  const { body } = await predict('bounded', 'range-user');
  const refused = await fetch(`${base}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ feedbackToken: body.feedbackToken, reward: 51 }) });
  assert.equal(refused.status, 400);
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /outside the range .*\[0, 50\]/);
  const counted = await fetch(`${base}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ feedbackToken: body.feedbackToken, reward: 50 }) });
  assert.equal(counted.status, 202, 'the same token still redeems once with a valid reward');
  const sum = (summary: typeof before) => summary.variants.reduce((total, variant) => total + variant.rewards, 0);
  await eventually('the valid reward in the record', async () => {
    const now = (await (await fetch(`${base}/v1/experiments/bounded`)).json()) as typeof before;
    // The fuzz above left non-integer sums behind: (x + 50) - x need not be exactly 50 in floating point.
    return Math.abs(sum(now) - sum(before) - 50) < 1e-6;
  });
});
