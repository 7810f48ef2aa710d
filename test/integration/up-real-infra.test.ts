/**
 * `infermesh up --consul ADDR --kafka-brokers LIST`: the demo mesh on real infrastructure, the
 * suite's Consul and Kafka. The registry is seeded in Consul KV (under this test's own prefix), the
 * two workers register in the Consul catalog and the gateway's pools find them there, events go to
 * Kafka (this test's own topics), and an `infermesh aggregate` process publishes the record the
 * gateway routes by (`--experiment-records registry`). The prefix, topic prefix and consumer group
 * reach every process of the mesh through the environment (INFERMESH_KV_PREFIX,
 * INFERMESH_EVENTS_TOPIC_PREFIX, INFERMESH_AGGREGATOR_GROUP_ID), as they would for a user.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { freePorts } from '../infra/free-port.js';
import { testConsul, testKafka } from '../infra/test-infra.js';
import { consumeUntil } from '../support/events-support.js';
import { eventually } from '../support/load-generator.js';
import { COMMAND_PREFIX } from '../../packages/cli/src/up/welcome.js';
import { CLI_ARGS, cleanEnv, freeWorkerPort, startUp, UP_WORKER_PORT_STEP, type UpProcess } from '../support/up-process.js';

/** The demo model `infermesh up` seeds. */
const MODEL = 'demo';
/** Milliseconds for an event to be read back from Kafka, or counted into a published record, on a busy machine. */
const SETTLE_TIMEOUT_MS = 60_000;
const INPUTS = { recency: 0.5, frequency: 1, monetary: 2, tenure: 0.1 };
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface CatalogEntry {
  Service: { Port: number; Meta: Record<string, string> | null };
}

interface Prediction {
  predictionId: string;
  variant: string;
  version: string;
  default: boolean;
  feedbackToken: string;
}

let tmp: string;
let up: UpProcess | undefined;
let consulAddr: string;
let kvPrefix: string;
let brokers: string[];
let topicPrefix: string;
let gatewayPort: number;
let workerPort: number;
let aggregatorPort: number;
let served: Prediction | undefined;

const gateway = (path: string) => `http://127.0.0.1:${gatewayPort}${path}`;

async function kvJson<T>(key: string): Promise<T | undefined> {
  const response = await fetch(`${consulAddr}/v1/kv/${kvPrefix}${key}?raw`);
  return response.status === 200 ? ((await response.json()) as T) : undefined;
}

before(async () => {
  const [consul, kafka] = await Promise.all([testConsul(), testKafka()]);
  consulAddr = consul.httpAddr;
  kvPrefix = consul.prefix;
  brokers = kafka.brokers;
  topicPrefix = `${kafka.topic('up')}.`;
  tmp = mkdtempSync(join(tmpdir(), 'up-real-infra-'));
  const [gatewayFree, aggregatorFree] = await freePorts(2);
  gatewayPort = gatewayFree!;
  aggregatorPort = aggregatorFree!;
  workerPort = await freeWorkerPort();
  const env = {
    ...cleanEnv(),
    INFERMESH_KV_PREFIX: kvPrefix,
    INFERMESH_EVENTS_TOPIC_PREFIX: topicPrefix,
    INFERMESH_AGGREGATOR_GROUP_ID: `up-${randomBytes(4).toString('hex')}`,
  };
  up = await startUp([
    '--dir', join(tmp, 'up'),
    '--port', String(gatewayPort),
    '--worker-port', String(workerPort),
    '--aggregator-port', String(aggregatorPort),
    '--consul', consulAddr,
    '--kafka-brokers', brokers.join(','),
  ], env);
});

after(async () => {
  const code = await up?.stop();
  if (code !== undefined) assert.equal(code, 0, `infermesh up stopped with code ${code}:\n${up!.output()}`);
  if (consulAddr !== undefined) await fetch(`${consulAddr}/v1/kv/${kvPrefix}?recurse`, { method: 'DELETE' }).catch(() => undefined);
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

test('the registry is seeded in Consul KV and both workers are passing in the Consul catalog', async () => {
  assert.match(up!.output(), /Consul and Kafka/, 'the welcome names the real infrastructure');
  const deployments = await Promise.all(['a', 'b'].map((name) => kvJson<{ version: string }>(`models/${MODEL}/deployments/${name}`)));
  assert.deepEqual(deployments.map((deployment) => deployment?.version), ['v1', 'v2']);
  const experiment = await kvJson<{ variants: { name: string; pool: unknown }[] }>(`experiments/${MODEL}`);
  assert.deepEqual(experiment?.variants.map((variant) => [variant.name, variant.pool]), [['a', { deployment: 'a' }], ['b', { deployment: 'b' }]]);

  // This mesh's workers: other tests may register workers of a model named demo in the same Consul.
  const ours = new Map([[workerPort, 'a'], [workerPort + UP_WORKER_PORT_STEP, 'b']]);
  await eventually('both workers passing in the catalog with their deployment in the meta', async () => {
    const entries = (await (await fetch(`${consulAddr}/v1/health/service/infermesh-worker?passing=true`)).json()) as CatalogEntry[];
    const mine = entries.filter((entry) => ours.has(entry.Service.Port) && entry.Service.Meta?.model === MODEL);
    return mine.length === 2 && mine.every((entry) => entry.Service.Meta?.deployment === ours.get(entry.Service.Port));
  }, SETTLE_TIMEOUT_MS, 250);
});

test('a prediction through its gateway is answered by a catalog worker, and its events reach Kafka', async () => {
  const response = await fetch(gateway(`/v1/models/${MODEL}/predict`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entity: { userId: 'u1' }, inputs: INPUTS }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  served = JSON.parse(text) as Prediction;
  assert.equal(served.default, false, `a worker answered, not the default output: ${text}`);
  assert.equal(served.version, { a: 'v1', b: 'v2' }[served.variant], text);
  const feedback = await fetch(gateway('/v1/feedback'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ feedbackToken: served.feedbackToken, reward: 1 }) });
  assert.equal(feedback.status, 202, await feedback.text());

  const mine = (type: string) => (event: { envelope: { type: string; data: unknown } }) => event.envelope.type === type && (event.envelope.data as { predictionId: string }).predictionId === served!.predictionId;
  const events = await consumeUntil(
    brokers,
    [`${topicPrefix}predictions`, `${topicPrefix}feedback`],
    (consumed) => consumed.some(mine('infermesh.prediction.served')) && consumed.some(mine('infermesh.feedback.received')),
    SETTLE_TIMEOUT_MS,
  );
  const prediction = events.find(mine('infermesh.prediction.served'))!;
  assert.equal(prediction.topic, `${topicPrefix}predictions`);
  assert.equal(prediction.key, 'u1', 'keyed by the entity');
  assert.deepEqual(prediction.envelope.data, { ...(prediction.envelope.data as object), model: MODEL, variant: served.variant, version: served.version, inputs: INPUTS });
  const reward = events.find(mine('infermesh.feedback.received'))!;
  assert.equal(reward.topic, `${topicPrefix}feedback`);
  assert.equal((reward.envelope.data as { reward: number }).reward, 1);
});

test('its aggregator counts the events from Kafka and publishes stats/demo, which the gateway routes by', async () => {
  assert.ok(served !== undefined, 'the prediction was served');
  const variant = served.variant;
  await eventually('a record at stats/demo with the prediction and its reward', async () => {
    const record = await kvJson<{ variants: Record<string, { trials: number; rewardSum: number }> }>(`stats/${MODEL}`);
    return record !== undefined && (record.variants[variant]?.trials ?? 0) >= 1 && (record.variants[variant]?.rewardSum ?? 0) >= 1;
  }, SETTLE_TIMEOUT_MS, 250);
  const record = (await kvJson<{ sequence: number; offsets?: Record<string, string> }>(`stats/${MODEL}`))!;
  assert.ok(Object.keys(record.offsets ?? {}).some((key) => key.startsWith(`${topicPrefix}predictions/`)), `published by the aggregator service: ${JSON.stringify(record.offsets)}`);

  await eventually('the gateway reporting the published record', async () => {
    const view = (await (await fetch(gateway(`/v1/experiments/${MODEL}`))).json()) as { record: { sequence: number } | null; variants: { name: string; trials: number; rewards: number }[] };
    const evidence = view.variants.find((candidate) => candidate.name === variant);
    return view.record !== null && (evidence?.trials ?? 0) >= 1 && (evidence?.rewards ?? 0) >= 1;
  }, SETTLE_TIMEOUT_MS, 250);

  const metrics = await (await fetch(`http://127.0.0.1:${aggregatorPort}/metrics`)).text();
  assert.match(metrics, new RegExp(`^infermesh_aggregator_records_published_total\\{model="${MODEL}"\\} [1-9]`, 'm'));
});

test('the events tail command the welcome prints follows this mesh\'s predictions on Kafka', async () => {
  const printed = up!.output().split('\n').find((line) => line.startsWith(COMMAND_PREFIX) && line.includes('events tail'));
  assert.ok(printed !== undefined, `the welcome prints an events tail command:\n${up!.output()}`);
  const words = printed.slice(COMMAND_PREFIX.length).trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ['npx', 'infermesh'], printed);
  assert.deepEqual(words.slice(2), ['events', 'tail', '--kafka-brokers', brokers.join(',')], 'the brokers the mesh was started with, written out');
  // The launcher itself is proven on a fresh clone by readme-quickstart; here the same arguments run from these sources.
  // The topic prefix reaches it as it reached the mesh: through the environment.
  const tail = spawn(process.execPath, [...CLI_ARGS, ...words.slice(2)], { cwd: ROOT, env: { ...cleanEnv(), INFERMESH_EVENTS_TOPIC_PREFIX: topicPrefix }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  tail.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  tail.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  try {
    // It reads from now on, once its consumer has joined: predict until one of ours is shown.
    const ids: string[] = [];
    await eventually('a prediction made after the tail started shown by it', async () => {
      const response = await fetch(gateway(`/v1/models/${MODEL}/predict`), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entity: { userId: 'u2' }, inputs: INPUTS }) });
      ids.push(((await response.json()) as Prediction).predictionId);
      return ids.some((id) => output.includes(`prediction=${id}`));
    }, SETTLE_TIMEOUT_MS, 500);
    assert.match(output, new RegExp(`prediction\\.served\\s+${MODEL} `), output);
  } finally {
    tail.kill('SIGTERM');
  }
});

test('the evaluate command the welcome prints estimates a policy from this mesh\'s decisions on Kafka', async () => {
  const printed = up!.output().split('\n').find((line) => line.startsWith(COMMAND_PREFIX) && line.includes('infermesh evaluate'));
  assert.ok(printed !== undefined, `the welcome prints an evaluate command:\n${up!.output()}`);
  const words = printed.slice(COMMAND_PREFIX.length).trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 3), ['npx', 'infermesh', 'evaluate'], printed);
  assert.ok(words.includes('--kafka-brokers') && words.includes(brokers.join(',')), `reads the mesh's brokers: ${printed}`);
  // The launcher is proven on a fresh clone by readme-quickstart; here the same arguments run from these sources.
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...words.slice(2), '--json'], { cwd: ROOT, env: { ...cleanEnv(), INFERMESH_EVENTS_TOPIC_PREFIX: topicPrefix }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('exit', (code) => resolve({ code, output }));
  });
  assert.equal(result.code, 0, result.output);
  const evaluation = JSON.parse(result.output) as { decisions: number; policy: string; ips: { value: number } };
  assert.equal(evaluation.policy, 'always:b');
  assert.ok(evaluation.decisions >= 1, result.output);
  assert.ok(Number.isFinite(evaluation.ips.value));
});
