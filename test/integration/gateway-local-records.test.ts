/**
 * Which records a gateway routes by when not told (`--experiment-records auto`), and what a
 * gateway on local records says when it sees that it is not alone: a record an aggregator
 * published for its model, or feedback for a prediction another replica served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConsulKvStore, createConsulClient, createLogger, InMemoryEventPublisher, type KvStore } from '@infermesh/shared';
import { computeRecord, parseExperimentConfig } from '@infermesh/experiments';
import { createGateway, type Gateway, type GatewayConfig } from '@infermesh/gateway';
import { Registry } from 'prom-client';
import { testConsul } from '../infra/test-infra.js';
import { eventually } from '../support/load-generator.js';
import { testGatewayConfig } from '../support/gateway-config.js';
import { writeVersionArtifacts } from '../support/model-versions.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

const FEEDBACK_KEYS = 'k1:local-records-secret-local-records-secret-32';
const EXPERIMENT = {
  entityKey: 'userId',
  policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 0 },
  variants: [{ name: 'a', pool: { static: [] as string[] } }, { name: 'b', pool: { static: [] as string[] } }],
};

let worker: WorkerProcess;
let kv: KvStore;
let consulAddr: string;
let kvPrefix: string;
const gateways: Gateway[] = [];

interface Started {
  gateway: Gateway;
  logs: { level: string; msg: string; model?: string }[];
}

/** A gateway on the test's Consul; `kafka`: brokers are configured (events stay in memory: nothing here talks to Kafka). */
async function startGateway(overrides: Partial<GatewayConfig> & { kafka?: boolean }): Promise<Started> {
  const { kafka, ...config } = overrides;
  const logs: Started['logs'] = [];
  const logger = createLogger({ service: 'gateway', level: 'warn', destination: { write: (line: string) => logs.push(JSON.parse(line) as Started['logs'][number]) } });
  const gateway = await createGateway(
    testGatewayConfig({ consul: consulAddr, kvPrefix, feedbackKeys: FEEDBACK_KEYS, ...(kafka ? { kafkaBrokers: '127.0.0.1:9' } : {}), ...config }),
    { logger, registry: new Registry(), serverVersion: 'test', events: new InMemoryEventPublisher({ source: 'urn:test' }), watchWaitMs: 500 },
  );
  gateways.push(gateway);
  await gateway.ready;
  return { gateway, logs };
}

async function post(gateway: Gateway, path: string, body: unknown): Promise<any> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(response.status < 300, `${path} answered ${response.status}`);
  return response.json();
}

const predict = (gateway: Gateway, userId: string) => post(gateway, '/v1/models/churn/predict', { entity: { userId }, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }) as Promise<{ feedbackToken: string }>;
const record = async (gateway: Gateway) => ((await (await fetch(`http://127.0.0.1:${gateway.port}/v1/experiments/churn`)).json()) as { record: { sequence: number } | null }).record;
const warnings = (started: Started, pattern: RegExp) => started.logs.filter((line) => line.level === 'warn' && pattern.test(line.msg));

before(async () => {
  const consul = await testConsul();
  consulAddr = consul.httpAddr;
  kvPrefix = consul.prefix;
  kv = new ConsulKvStore(createConsulClient(consulAddr), kvPrefix);
  const artifacts = writeVersionArtifacts();
  worker = await startWorkerProcess(['--model', 'churn', '--version', 'v1', '--artifact', artifacts.v1.path, '--sha256', artifacts.v1.sha256]);
  for (const variant of EXPERIMENT.variants) variant.pool.static = [worker.address];
  await kv.compareAndSet('models/churn/config', JSON.stringify(logisticModelConfig({ static: [worker.address] })), 0);
  await kv.compareAndSet('experiments/churn', JSON.stringify(EXPERIMENT), 0);
});

after(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await worker?.stop();
});

describe('--experiment-records auto (the default)', () => {
  test('with --consul and --kafka-brokers the gateway routes by the published records; with only one of them, by its own', async () => {
    const both = await startGateway({ kafka: true });
    const consulOnly = await startGateway({});
    // Nothing is published yet: the registry reader holds no record; the local one computes its own at once.
    assert.equal(await record(both.gateway), null);
    assert.notEqual(await record(consulOnly.gateway), null);

    const experiment = parseExperimentConfig('churn', JSON.stringify(EXPERIMENT));
    const now = Date.now();
    const published = { ...computeRecord({ model: 'churn', experiment, statistics: { a: { trials: 50, rewardSum: 5, rewardSumSquares: 5, updatedAt: now }, b: { trials: 50, rewardSum: 9, rewardSumSquares: 9, updatedAt: now } }, previous: undefined, now }), sequence: 7_777 };
    assert.ok(await kv.compareAndSet('stats/churn', JSON.stringify(published), 0));
    await eventually('the gateway with both to route by the published record', async () => (await record(both.gateway))?.sequence === 7_777, 15_000);
    assert.notEqual((await record(consulOnly.gateway))?.sequence, 7_777, 'the local gateway keeps its own record');

    // (a) The local gateway sees the published record for a model it routes by itself: one WARN.
    await eventually('a WARN about the published record', async () => warnings(consulOnly, /publishes records for this model/).length === 1, 15_000);
    assert.equal(warnings(consulOnly, /publishes records for this model/)[0]!.model, 'churn');
    assert.deepEqual(warnings(both, /publishes records|another gateway/), [], 'the registry reader says nothing');
  });
});

describe('a gateway on local records that is not alone', () => {
  test('feedback for a prediction another replica served: one WARN per model on the replica that got it; its own feedback says nothing', async () => {
    const first = await startGateway({ experimentRecords: 'local' });
    const second = await startGateway({ experimentRecords: 'local' });
    const own = await predict(second.gateway, 'u-own');
    await post(second.gateway, '/v1/feedback', { feedbackToken: own.feedbackToken, reward: 1 });
    assert.deepEqual(warnings(second, /another gateway served/), []);
    // Tokens whose issue time lies within the start margin are not judged: serve after it.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    for (const userId of ['u1', 'u2']) {
      const served = await predict(first.gateway, userId);
      await post(second.gateway, '/v1/feedback', { feedbackToken: served.feedbackToken, reward: 1 });
    }
    const warned = warnings(second, /another gateway served/);
    assert.equal(warned.length, 1, 'once per model');
    assert.equal(warned[0]!.model, 'churn');
    assert.deepEqual(warnings(first, /another gateway served/), []);
  });
});
