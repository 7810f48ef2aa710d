/**
 * `infermesh evaluate` on the events a real gateway logged: a weighted experiment (shares 3:1,
 * so every decision's propensity is known), predictions and feedback over HTTP, then the CLI's
 * estimates compared with the same estimators computed here from the answers the test saw —
 * from the NDJSON event files of the embedded mode, and from a real Kafka broker.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FileKvStore } from '@infermesh/shared';
import { seededRandom } from '@infermesh/experiments';
import { testKafka } from '../infra/test-infra.js';
import { eventually } from '../support/load-generator.js';
import { writeVersionArtifacts } from '../support/model-versions.js';
import { runCli, startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

const FEEDBACK_KEYS = 'k1:evaluate-cli-secret-evaluate-cli-secret-32';
/** Predictions each gateway serves; feedback follows for those the simulated user rewards. */
const PREDICTIONS = 300;
/** True reward rates: the simulated users click b more often. */
const RATES: Readonly<Record<string, number>> = { a: 0.2, b: 0.6 };
/** The experiment's weights, hence every decision's propensity. */
const SHARES: Readonly<Record<string, number>> = { a: 0.75, b: 0.25 };

let worker: WorkerProcess;
let registryDir: string;

interface Served {
  variant: string;
  reward: number;
}

before(async () => {
  const artifacts = writeVersionArtifacts();
  worker = await startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', artifacts.v1.path, '--sha256', artifacts.v1.sha256]);
  registryDir = mkdtempSync(join(tmpdir(), 'evaluate-cli-'));
  const kv = new FileKvStore(registryDir);
  await kv.compareAndSet('models/churn/config', JSON.stringify(logisticModelConfig({ static: [worker.address] }, { entityKeys: ['userId'], deadlineMs: 5_000 })), 0);
  await kv.compareAndSet('experiments/churn', JSON.stringify({
    entityKey: 'userId',
    policy: { type: 'weighted', reward: 'binary' },
    variants: [
      { name: 'a', weight: 3, pool: { static: [worker.address] } },
      { name: 'b', weight: 1, pool: { static: [worker.address] } },
    ],
  }), 0);
});

after(async () => {
  await worker?.stop();
});

/** Serves PREDICTIONS to distinct users and rewards each with its variant's rate (seeded): what the users did. */
async function simulateUsers(base: string, seed: string): Promise<Served[]> {
  const rng = seededRandom(seed);
  const served: Served[] = [];
  for (let i = 0; i < PREDICTIONS; i += 1) {
    const response = await fetch(`${base}/v1/models/churn/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entity: { userId: `${seed}-${i}` }, inputs: { a: 0.1, b: 0.2, c: 0.3, d: 0.4 } }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { variant: string; feedbackToken: string };
    const reward = rng() < RATES[body.variant]! ? 1 : 0;
    if (reward === 1) {
      const feedback = await fetch(`${base}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ feedbackToken: body.feedbackToken, reward }) });
      assert.equal(feedback.status, 202);
    }
    served.push({ variant: body.variant, reward });
  }
  return served;
}

/** IPS of `always:b` and the naive mean, computed from what the test itself saw. */
function expected(served: readonly Served[]): { ips: number; naive: number; rewarded: number } {
  const n = served.length;
  return {
    ips: served.reduce((sum, { variant, reward }) => sum + (variant === 'b' ? reward / SHARES.b! : 0), 0) / n,
    naive: served.reduce((sum, { reward }) => sum + reward, 0) / n,
    rewarded: served.filter(({ reward }) => reward === 1).length,
  };
}

interface EvaluationJson {
  decisions: number;
  rewarded: number;
  evaluableShare: number;
  ips: { value: number; low: number; high: number };
  snips: { value: number };
  doublyRobust: { value: number };
  naive: { value: number };
}

test('from the event files of the embedded mode: the estimates equal the ones computed from the answers, the table and the refusals read clearly', { timeout: 180_000 }, async () => {
  const eventsDir = mkdtempSync(join(tmpdir(), 'evaluate-events-'));
  const gateway = await startGatewayProcess(['--registry-dir', registryDir, '--events-dir', eventsDir, '--feedback-keys', FEEDBACK_KEYS]);
  let served: Served[];
  try {
    served = await simulateUsers(`http://127.0.0.1:${gateway.port}`, 'files');
    const variants = new Set(served.map(({ variant }) => variant));
    assert.deepEqual([...variants].sort(), ['a', 'b'], 'both variants served');

    // record: the shares the gateway routes by now are the logging policy itself, so every weight is 1.
    const record = await runCli(['evaluate', '--model', 'churn', '--policy', 'record', '--events-dir', eventsDir, '--gateway', `http://127.0.0.1:${gateway.port}`, '--json'], { timeoutMs: 60_000 });
    assert.equal(record.code, 0, record.stderr);
    const onPolicy = JSON.parse(record.stdout) as EvaluationJson;
    assert.ok(Math.abs(onPolicy.ips.value - onPolicy.naive.value) < 1e-12, `record policy: IPS ${onPolicy.ips.value} = naive ${onPolicy.naive.value}`);
  } finally {
    await gateway.stop();
  }
  const truth = expected(served);

  const json = await runCli(['evaluate', '--model', 'churn', '--policy', 'always:b', '--events-dir', eventsDir, '--json'], { timeoutMs: 60_000 });
  assert.equal(json.code, 0, json.stderr);
  const evaluation = JSON.parse(json.stdout) as EvaluationJson;
  assert.equal(evaluation.decisions, PREDICTIONS);
  assert.equal(evaluation.rewarded, truth.rewarded);
  assert.ok(Math.abs(evaluation.ips.value - truth.ips) < 1e-12, `IPS ${evaluation.ips.value} vs ${truth.ips}`);
  assert.ok(Math.abs(evaluation.naive.value - truth.naive) < 1e-12, `naive ${evaluation.naive.value} vs ${truth.naive}`);
  assert.ok(evaluation.ips.low < truth.ips && truth.ips < evaluation.ips.high);
  // The simulated b earns 0.6 per decision; logging gave it a quarter of the traffic, so the naive mean sits far below.
  assert.ok(evaluation.ips.low <= RATES.b! && RATES.b! <= evaluation.ips.high, `IPS interval [${evaluation.ips.low}, ${evaluation.ips.high}] covers b's true rate`);
  assert.ok(evaluation.naive.value < RATES.b! - 0.15, `naive ${evaluation.naive.value} is biased towards a`);

  const text = await runCli(['evaluate', '--model', 'churn', '--policy', 'weights:a=1,b=1', '--events-dir', eventsDir], { timeoutMs: 60_000 });
  assert.equal(text.code, 0, text.stderr);
  for (const label of ['IPS', 'SNIPS', 'doubly robust', 'naive mean', `${PREDICTIONS} logged decisions`]) assert.ok(text.stdout.includes(label), `${label} in:\n${text.stdout}`);

  const unknown = await runCli(['evaluate', '--model', 'churn', '--policy', 'always:zzz', '--events-dir', eventsDir], { timeoutMs: 60_000 });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /\[INVALID_ARGUMENT\] --policy 'always:zzz': unknown variant 'zzz' \(known: a, b\)/);
  const otherModel = await runCli(['evaluate', '--model', 'nothing-here', '--policy', 'uniform', '--events-dir', eventsDir], { timeoutMs: 60_000 });
  assert.equal(otherModel.code, 1);
  assert.match(otherModel.stderr, /no logged decisions/);
  const usage = await runCli(['evaluate', '--policy', 'uniform'], { timeoutMs: 60_000 });
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--model and --policy are required/);
});

test('from a real Kafka broker: the same join and the same estimates, read up to the end the topics had', { timeout: 180_000 }, async () => {
  const kafka = await testKafka();
  const prefix = `${kafka.topic('evaluate')}.`;
  const gateway = await startGatewayProcess(['--registry-dir', registryDir, '--kafka-brokers', kafka.brokers.join(','), '--events-topic-prefix', prefix, '--feedback-keys', FEEDBACK_KEYS]);
  let served: Served[];
  try {
    served = await simulateUsers(`http://127.0.0.1:${gateway.port}`, 'kafka');
    const truth = expected(served);
    // The gateway sends its spool to Kafka off the response path: read until all of it is there.
    await eventually('every decision and its feedback to be readable from Kafka', async () => {
      const result = await runCli(['evaluate', '--model', 'churn', '--policy', 'always:b', '--kafka-brokers', kafka.brokers.join(','), '--events-topic-prefix', prefix, '--json'], { timeoutMs: 60_000 });
      if (result.code !== 0) return false;
      const evaluation = JSON.parse(result.stdout) as EvaluationJson;
      if (evaluation.decisions !== PREDICTIONS || evaluation.rewarded !== truth.rewarded) return false;
      assert.ok(Math.abs(evaluation.ips.value - truth.ips) < 1e-12, `IPS ${evaluation.ips.value} vs ${truth.ips}`);
      return true;
    }, 60_000, 1_000);
  } finally {
    await gateway.stop();
  }
});
