/**
 * The gateway's business events against a real Kafka broker of this test's own (it is stopped
 * and restarted): no prediction is lost when Kafka goes away, none when the gateway is killed,
 * feedback and shadow events join their prediction, and every event validates.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FileKvStore, validateEvent, type EventEnvelope } from '@infermesh/shared';
import { startKafka, type KafkaBroker } from '../infra/kafka-broker.js';
import { atLeastDistinct, consumeUntil, type ConsumedEvent } from '../support/events-support.js';
import { writeVersionArtifacts } from '../support/model-versions.js';
import { startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

/** Predictions sent while the broker goes away and comes back. */
const OUTAGE_PREDICTIONS = 10_000;
/** Concurrent HTTP callers of the load. */
const CALLERS = 8;
const FEEDBACK_KEYS = 'k1:events-gateway-secret-events-gateway-32';

let broker: KafkaBroker;
let worker: WorkerProcess;
let registryDir: string;

interface Answer {
  status: number;
  predictionId?: string;
  feedbackToken?: string;
  latencyMs: number;
}

async function predict(base: string, userId: string): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(`${base}/v1/models/churn/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entity: { userId }, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }),
    });
    const body = (await response.json()) as { predictionId?: string; feedbackToken?: string };
    return { status: response.status, ...body, latencyMs: performance.now() - started };
  } catch {
    return { status: 0, latencyMs: performance.now() - started };
  }
}

/** Sends `total` predictions from CALLERS loops; `onProgress` sees the count of answers so far. */
async function sendPredictions(base: string, total: number, onProgress: (done: number) => Promise<void> | void = () => undefined): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < total) {
        const index = next++;
        answers.push(await predict(base, `user-${index % 500}`));
        await onProgress(answers.length);
      }
    }),
  );
  return answers;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function gatewayArgs(prefix: string, spoolDir: string): string[] {
  return ['--registry-dir', registryDir, '--kafka-brokers', broker.brokers.join(','), '--events-topic-prefix', prefix, '--events-spool-dir', spoolDir, '--feedback-keys', FEEDBACK_KEYS];
}

const ofType = (events: readonly ConsumedEvent[], type: string) => events.filter((event) => event.envelope.type === type);

before(async () => {
  const artifacts = writeVersionArtifacts();
  [broker, worker] = await Promise.all([startKafka(), startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', artifacts.v1.path, '--sha256', artifacts.v1.sha256])]);
  registryDir = mkdtempSync(join(tmpdir(), 'events-gateway-'));
  const kv = new FileKvStore(registryDir);
  const events = { inputs: true, outputs: true, sampleRate: 0.5 };
  await kv.compareAndSet('models/churn/config', JSON.stringify(logisticModelConfig({ static: [worker.address] }, { entityKeys: ['userId'], deadlineMs: 5_000, events })), 0);
  await kv.compareAndSet('experiments/churn', JSON.stringify({
    entityKey: 'userId',
    policy: { type: 'thompson', reward: 'binary', minShare: 0.1, minTrials: 20 },
    variants: [
      { name: 'a', pool: { static: [worker.address] } },
      { name: 'b', pool: { static: [worker.address] } },
      { name: 'mirror', role: 'shadow', pool: { static: [worker.address] } },
    ],
    shadow: { fraction: 0.2, maxConcurrent: 4 },
  }), 0);
});

after(async () => {
  await worker?.stop();
  await broker?.stop();
});

test(`${OUTAGE_PREDICTIONS.toLocaleString('en-US')} predictions while Kafka is stopped part-way and restarted: none fails, exactly one valid event each`, { timeout: 10 * 60_000 }, async () => {
  const prefix = `outage-${randomUUID().slice(0, 8)}.`;
  const gateway = await startGatewayProcess(gatewayArgs(prefix, join(mkdtempSync(join(tmpdir(), 'spool-')), 'spool')));
  try {
    const base = `http://127.0.0.1:${gateway.port}`;
    let phase: 'up' | 'down' | 'back' = 'up';
    const phaseOf: string[] = [];
    let switching: Promise<void> | undefined;
    const answers = await sendPredictions(base, OUTAGE_PREDICTIONS, async (done) => {
      phaseOf.push(phase);
      if (done === 3_000 && switching === undefined) switching = broker.stop().then(() => void (phase = 'down'));
      if (done === 7_000) {
        await switching;
        switching = broker.start().then(() => void (phase = 'back'));
      }
    });
    await switching;
    assert.deepEqual(answers.filter((answer) => answer.status !== 200).map((answer) => answer.status), [], 'no prediction failed');
    const ids = new Set(answers.map((answer) => answer.predictionId!));
    assert.equal(ids.size, OUTAGE_PREDICTIONS);
    for (const name of ['up', 'down'] as const) {
      const latencies = answers.filter((_, index) => phaseOf[index] === name).map((answer) => answer.latencyMs);
      console.log(`events, Kafka ${name}: ${latencies.length} predictions, p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`);
    }

    // Shadow events share the topic (keyed by prediction id, on other partitions): count served ones only.
    const servedOnly = atLeastDistinct(OUTAGE_PREDICTIONS);
    const consumed = await consumeUntil(broker.brokers, [`${prefix}predictions`], (events) => servedOnly(ofType(events, 'infermesh.prediction.served')), 5 * 60_000);
    const served = ofType(consumed, 'infermesh.prediction.served');
    const consumedIds = new Set(served.map((event) => (event.envelope.data as { predictionId: string }).predictionId));
    assert.equal(consumedIds.size, OUTAGE_PREDICTIONS, 'exactly the predictions answered, no more, no fewer');
    assert.deepEqual([...consumedIds].filter((id) => !ids.has(id)), []);
    for (const event of consumed) assert.deepEqual(validateEvent(event.envelope), [], JSON.stringify(event.envelope));
    const keyed = served.every((event) => event.key === event.envelope.subject && event.envelope.subject.startsWith('user-'));
    assert.ok(keyed, 'keyed by the entity');
    assert.ok(served.some((event) => (event.envelope.data as { inputs?: object }).inputs !== undefined), 'sampled events carry the inputs the config asks for');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const dropped = metrics.split('\n').filter((line) => line.startsWith('infermesh_events_dropped_total{') && !line.endsWith(' 0'));
    assert.deepEqual(dropped, [], 'nothing dropped');
  } finally {
    await gateway.stop();
  }
});

test('a gateway SIGKILLed under load and restarted on the same spool delivers the event of every prediction it answered', { timeout: 5 * 60_000 }, async () => {
  const prefix = `sigkill-${randomUUID().slice(0, 8)}.`;
  const spool = join(mkdtempSync(join(tmpdir(), 'spool-')), 'spool');
  const first = await startGatewayProcess(gatewayArgs(prefix, spool));
  const base = `http://127.0.0.1:${first.port}`;
  const answered: string[] = [];
  let killed = false;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (!killed) {
        const answer = await predict(base, `user-${answered.length % 300}`);
        if (answer.status === 200) answered.push(answer.predictionId!);
        if (answered.length >= 1_500 && !killed) {
          killed = true;
          first.process.kill('SIGKILL');
        }
      }
    }),
  );
  await first.exited;
  const second = await startGatewayProcess(gatewayArgs(prefix, spool));
  try {
    const wanted = new Set(answered);
    const consumed = await consumeUntil(broker.brokers, [`${prefix}predictions`], (events) => {
      const seen = new Set(events.map((event) => (event.envelope.data as { predictionId: string }).predictionId));
      return [...wanted].every((id) => seen.has(id));
    }, 3 * 60_000);
    console.log(`SIGKILL: ${answered.length} predictions answered before the kill, all ${wanted.size} found in Kafka after the restart (${consumed.length} events read)`);
  } finally {
    await second.stop();
  }
});

test('feedback and shadow events carry the prediction id that joins them to their prediction; all validate', { timeout: 5 * 60_000 }, async () => {
  const prefix = `join-${randomUUID().slice(0, 8)}.`;
  const gateway = await startGatewayProcess(gatewayArgs(prefix, join(mkdtempSync(join(tmpdir(), 'spool-')), 'spool')));
  try {
    const base = `http://127.0.0.1:${gateway.port}`;
    const answers = await sendPredictions(base, 200);
    assert.deepEqual(answers.filter((answer) => answer.status !== 200), [], 'every prediction answered');
    const predictionIds = new Set(answers.map((answer) => answer.predictionId!));
    for (const answer of answers.slice(0, 50)) {
      const response = await fetch(`${base}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ feedbackToken: answer.feedbackToken, reward: 1 }) });
      assert.equal(response.status, 202);
    }
    const consumed = await consumeUntil(
      broker.brokers,
      [`${prefix}predictions`, `${prefix}feedback`],
      (events) =>
        ofType(events, 'infermesh.feedback.received').length >= 50 &&
        ofType(events, 'infermesh.prediction.shadow').length > 0 &&
        // Topics are consumed independently: wait for every served event too, or the join below can race ahead of them.
        new Set(ofType(events, 'infermesh.prediction.served').map((event) => (event.envelope.data as { predictionId: string }).predictionId)).size >= predictionIds.size,
      90_000,
    );
    const joins = (type: string) => ofType(consumed, type).map((event) => (event.envelope as EventEnvelope).data as { predictionId: string });
    assert.ok(joins('infermesh.feedback.received').every((data) => predictionIds.has(data.predictionId)));
    assert.ok(joins('infermesh.prediction.shadow').every((data) => predictionIds.has(data.predictionId)));
    const feedback = ofType(consumed, 'infermesh.feedback.received')[0]!;
    const served = ofType(consumed, 'infermesh.prediction.served').find((event) => (event.envelope.data as { predictionId: string }).predictionId === (feedback.envelope.data as { predictionId: string }).predictionId)!;
    assert.equal(feedback.key, served.key, 'a reward lands on the partition of the prediction it rewards');
    for (const event of consumed) assert.deepEqual(validateEvent(event.envelope), [], JSON.stringify(event.envelope));
  } finally {
    await gateway.stop();
  }
});
