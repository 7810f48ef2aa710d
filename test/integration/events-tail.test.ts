import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { NdjsonEventPublisher, validateEvent, type EventEnvelope, type EventInput, type EventPublisher } from '@infermesh/shared';
import { killAtExit } from '../infra/managed-process.js';
import { testKafka } from '../infra/test-infra.js';
import { eventually } from '../support/load-generator.js';
import { kafkaPublisher, quietLogger, servedEvent, temporaryDir } from '../support/events-support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Milliseconds one `events tail` run may take before the test gives up on it. */
const TAIL_TIMEOUT_MS = 60_000;

interface TailRun {
  lines: string[];
  /** Resolves with the exit code and stderr once the CLI has exited. */
  exited: Promise<{ code: number | null; stderr: string }>;
}

/** Runs `infermesh events tail <args>` as a process, collecting its stdout lines as they come. */
function tail(args: readonly string[]): TailRun {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', 'packages/cli/src/main.ts', 'events', 'tail', ...args], {
    cwd: ROOT,
    env: { ...process.env, KAFKA_BROKERS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forget = killAtExit(child);
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const reader = createInterface({ input: child.stdout });
  reader.on('line', (line) => lines.push(line));
  const closed = new Promise<void>((resolve) => reader.on('close', () => resolve()));
  const timer = setTimeout(() => child.kill('SIGKILL'), TAIL_TIMEOUT_MS);
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      forget();
      void closed.then(() => resolve({ code, stderr }));
    }),
  );
  return { lines, exited };
}

async function tailToEnd(args: readonly string[]): Promise<string[]> {
  const run = tail(args);
  const { code, stderr } = await run.exited;
  assert.equal(code, 0, stderr);
  return run.lines;
}

const PREDICTION_ID = randomUUID();

/** One event of each type, the shadow and feedback joined to the first prediction. */
function eventsOfEachType(): EventInput[] {
  return [
    servedEvent(1, PREDICTION_ID),
    {
      type: 'infermesh.prediction.shadow',
      subject: 'user-1',
      data: { predictionId: PREDICTION_ID, requestId: 'req-1', model: 'churn', liveVariant: 'candidate', liveVersion: 'v2', shadowVariant: 'next', shadowVersion: 'v3', outcome: 'compared', maxAbsDiff: 0.002, argmaxAgreement: 1, shadowLatencyMs: 4.2, errorCode: null },
    },
    {
      type: 'infermesh.feedback.received',
      subject: 'user-1',
      data: { predictionId: PREDICTION_ID, model: 'churn', variant: 'candidate', version: 'v2', reward: 1, delayMs: 1500, requestId: 'req-fb' },
    },
    {
      type: 'infermesh.model.reloaded',
      subject: 'fraud',
      data: { model: 'fraud', deployment: 'prod', fromVersion: 'v1', toVersion: 'v2', worker: '127.0.0.1:8001', timingsMs: { fetch: 10, verify: 2, load: 30, warmup: 4 } },
    },
    {
      type: 'infermesh.model.reload_failed',
      subject: 'churn',
      data: { model: 'churn', deployment: 'prod', fromVersion: 'v2', toVersion: 'v3', worker: '127.0.0.1:8001', stage: 'verify', errorCode: 'ARTIFACT_CHECKSUM_MISMATCH', message: 'checksum differs' },
    },
  ];
}

function ndjsonPublisher(dir: string): EventPublisher {
  return new NdjsonEventPublisher({ dir, source: 'urn:infermesh:gateway:tail-test:0', logger: quietLogger(), registry: new Registry() });
}

test('events tail reads the NDJSON event files: human lines, filters, raw JSON, and following new events and files', async () => {
  const dir = temporaryDir('events-tail-');
  const first = ndjsonPublisher(dir);
  await first.start();
  for (const event of eventsOfEachType()) await first.publish(event);
  await first.stop();

  const human = await tailToEnd(['--events-dir', dir, '--from-beginning', '--limit', '5']);
  assert.equal(human.length, 5);
  assert.match(human[0] ?? '', new RegExp(`^\\S+Z prediction\\.served +churn candidate@v2 prediction=${PREDICTION_ID} request=req-1 latency=2\\.5ms propensity=0\\.5 experiment=churn-ab`));
  assert.match(human[1] ?? '', new RegExp(`prediction\\.shadow +churn live=candidate@v2 shadow=next@v3 compared prediction=${PREDICTION_ID} maxAbsDiff=0\\.002 argmaxAgreement=1`));
  assert.match(human[2] ?? '', new RegExp(`feedback\\.received +churn candidate@v2 prediction=${PREDICTION_ID} reward=1 delay=1500ms`));
  assert.match(human[3] ?? '', /model\.reloaded +fraud prod v1→v2 worker=127\.0\.0\.1:8001 fetch=10ms verify=2ms load=30ms warmup=4ms/);
  assert.match(human[4] ?? '', /model\.reload_failed churn prod v2→v3 worker=127\.0\.0\.1:8001 stage=verify ARTIFACT_CHECKSUM_MISMATCH: checksum differs/);

  const filtered = await tailToEnd(['--events-dir', dir, '--from-beginning', '--type', 'model.reloaded,infermesh.model.reload_failed', '--model', 'churn', '--limit', '1']);
  assert.deepEqual(filtered.map((line) => line.split(/\s+/)[1]), ['model.reload_failed']);

  const raw = (await tailToEnd(['--events-dir', dir, '--from-beginning', '--json', '--limit', '5'])).map((line) => JSON.parse(line) as EventEnvelope);
  for (const envelope of raw) assert.deepEqual(validateEvent(envelope), []);
  assert.deepEqual(raw.map((envelope) => envelope.type), eventsOfEachType().map((event) => event.type));

  // Following: the run waits for more events, in the same file and in the next publisher's new file.
  const following = tail(['--events-dir', dir, '--from-beginning', '--type', 'prediction.served', '--limit', '3']);
  await eventually('the existing prediction printed', () => following.lines.length === 1, TAIL_TIMEOUT_MS);
  const second = ndjsonPublisher(dir);
  await second.start();
  await second.publish(servedEvent(2));
  await second.publish(servedEvent(3));
  await second.stop();
  const { code, stderr } = await following.exited;
  assert.equal(code, 0, stderr);
  assert.deepEqual(following.lines.map((line) => /request=(\S+)/.exec(line)?.[1]), ['req-1', 'req-2', 'req-3']);
});

test('events tail reads Kafka with its own consumer group: raw envelopes and a type filter', async () => {
  const { brokers, topic } = await testKafka();
  const prefix = `${topic('tail')}.`;
  const { publisher } = kafkaPublisher(brokers, prefix);
  await publisher.start();
  after(() => publisher.stop());
  for (const event of eventsOfEachType()) await publisher.publish(event);
  await eventually('the events acknowledged by Kafka', () => publisher.queued === 0, 60_000);

  const source = ['--kafka-brokers', brokers.join(','), '--events-topic-prefix', prefix, '--from-beginning'];
  const raw = (await tailToEnd([...source, '--json', '--limit', '5'])).map((line) => JSON.parse(line) as EventEnvelope);
  for (const envelope of raw) assert.deepEqual(validateEvent(envelope), []);
  assert.deepEqual(raw.map((envelope) => envelope.type).sort(), eventsOfEachType().map((event) => event.type).sort());

  const lifecycle = await tailToEnd([...source, '--type', 'model.reloaded', '--limit', '1']);
  assert.match(lifecycle[0] ?? '', /model\.reloaded +fraud prod v1→v2 worker=127\.0\.0\.1:8001/);
});
