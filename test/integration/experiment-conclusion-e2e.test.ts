/**
 * Conclusions end to end on the real Consul and Kafka: two gateway processes routing by the
 * records of two aggregator processes, real workers of three deployments (prod v1, canary v2,
 * flaky v3), simulated users who reward the canary more. The flaky variant's deployment also
 * lists an instance that never answers, so a good share of its predictions are default outputs:
 * its guardrail takes it out before it can win (its users' rewards alone would make it best).
 * Then b concludes: v2 is promoted to prod (once, with two aggregators), every request is
 * answered meanwhile, the concluded event is on the lifecycle topic once. A dry-run experiment
 * on a second model changes no traffic and publishes would_conclude.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { ConsulKvStore, createConsulClient, ModelRegistry } from '@infermesh/shared';
import { testConsul, testKafka } from '../infra/test-infra.js';
import { seeded } from '../support/aggregator-events.js';
import { consumeUntil } from '../support/events-support.js';
import { eventually } from '../support/load-generator.js';
import { logisticRequest, uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { inferenceClient, unary } from '../support/proto-client.js';
import { startAggregatorProcess, startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/** True reward rates: b beats a clearly; flaky's users would like it best of all. */
const RATES: Readonly<Record<string, number>> = { a: 0.05, b: 0.3, flaky: 0.6 };
/** Model deadline, ms: a call to the silent instance ends in a default output after it. */
const DEADLINE_MS = 400;
/** Concurrent simulated users. */
const CALLERS = 4;
const WAIT_MS = 180_000;

const SECRET = `k1:${randomBytes(32).toString('hex')}`;
const running: WorkerProcess[] = [];
const gateways: WorkerProcess[] = [];
const model = uniqueModelName('concl');
const dryModel = uniqueModelName('dry');
let kv: ConsulKvStore;
let consulAddr: string;
let brokers: string[];
let lifecycleTopic: string;
let prodWorker: WorkerProcess;
let silent: Server;
const sockets: Socket[] = [];

const random = seeded(18);

async function start(process: Promise<WorkerProcess>): Promise<WorkerProcess> {
  const started = await process;
  running.push(started);
  return started;
}

interface Answer {
  variant: string;
  version?: string;
  default: boolean;
  feedbackToken?: string;
}

/** Every answer of the load, with when it came: failures are any status but 200. */
const calls: { at: number; status: number; model: string; answer?: Answer }[] = [];

async function predictAndReward(target: string, userId: string): Promise<void> {
  const gateway = gateways[Math.floor(random() * gateways.length)]!;
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/models/${target}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entity: { userId }, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }),
  });
  const answer = (await response.json()) as Answer;
  calls.push({ at: Date.now(), status: response.status, model: target, answer });
  if (response.status !== 200 || answer.default || answer.feedbackToken === undefined) return;
  const other = gateways[Math.floor(random() * gateways.length)]!;
  await fetch(`http://127.0.0.1:${other.port}/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ feedbackToken: answer.feedbackToken, reward: random() < RATES[answer.variant]! ? 1 : 0 }),
  });
}

/** Simulated users until `stop()`: each a fresh entity, so every request is routed by the current record. */
function load(target: string): { stop: () => Promise<void> } {
  let running = true;
  const loops = Array.from({ length: CALLERS }, async () => {
    while (running) await predictAndReward(target, `user-${randomUUID()}`);
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

interface View {
  record: { sequence: number } | null;
  conclusion: { state: string; winner: string; since: number; at?: number; promotion: string; promoted?: { deployment: string; version: string } } | null;
  variants: { name: string; share: number; trials: number; guardrail: { metric: string; value: number; dryRun: boolean } | null; measured: { predictions: number; defaults: number } | null }[];
}
const view = async (target: string, gateway = gateways[0]!): Promise<View> => (await (await fetch(`http://127.0.0.1:${gateway.port}/v1/experiments/${target}`)).json()) as View;

const config = (pool: object) => ({
  inputs: { a: { type: 'number' }, b: { type: 'number' }, c: { type: 'number' }, d: { type: 'number' } },
  tensors: { features: { datatype: 'FP32', shape: [4], from: ['inputs.a', 'inputs.b', 'inputs.c', 'inputs.d'] } },
  deadlineMs: DEADLINE_MS,
  defaultOutput: { probability: [[0.5]] },
  pool,
});

before(async () => {
  const [consul, kafka] = await Promise.all([testConsul(), testKafka()]);
  consulAddr = consul.httpAddr;
  brokers = kafka.brokers;
  const topicPrefix = `${kafka.topic('conclusion')}.`;
  lifecycleTopic = `${topicPrefix}lifecycle`;
  kv = new ConsulKvStore(createConsulClient(consul.httpAddr), consul.prefix);
  const registry = new ModelRegistry(kv);
  const artifacts = writeVersionArtifacts();
  for (const version of ['v1', 'v2', 'v3'] as const) await registry.publish(model, version, { uri: artifacts[version].path, sha256: artifacts[version].sha256, metadata: {} });
  await registry.promote(model, 'prod', 'v1');
  await registry.promote(model, 'canary', 'v2');
  await registry.promote(model, 'flaky', 'v3');
  const registryArgs = ['--consul', consul.httpAddr, '--kv-prefix', consul.prefix];
  const worker = (deployment: string) => start(startWorkerProcess(['--model', model, '--deployment', deployment, ...registryArgs, '--register', '--advertise-address', '127.0.0.1']));
  const [prod, canary] = await Promise.all([worker('prod'), worker('canary'), worker('flaky')]);
  prodWorker = prod!;
  // An instance of the flaky deployment that accepts connections and never answers: calls to it miss the deadline.
  silent = createServer((socket) => void sockets.push(socket)).listen(0, '127.0.0.1');
  await new Promise((resolve) => silent.once('listening', resolve));
  const silentPort = (silent.address() as { port: number }).port;
  await createConsulClient(consul.httpAddr).agent.service.register({ name: 'infermesh-worker', id: `silent-${model}`, address: '127.0.0.1', port: silentPort, tags: [model, 'flaky'], meta: { model, deployment: 'flaky', version: 'v3' } } as never);

  await kv.compareAndSet(`models/${model}/config`, JSON.stringify(config({ deployment: 'prod' })), 0);
  await kv.compareAndSet(`experiments/${model}`, JSON.stringify({
    entityKey: 'userId',
    policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 30 },
    variants: [{ name: 'a', pool: { deployment: 'prod' } }, { name: 'b', pool: { deployment: 'canary' } }, { name: 'flaky', pool: { deployment: 'flaky' } }],
    conclude: {
      when: { probabilityBest: 0.95, forSeconds: 3, minTrialsPerVariant: 60 },
      promote: { deployment: 'prod' },
      guardrails: [{ metric: 'errorRate', max: 0.02 }, { metric: 'defaultRate', max: 0.05 }],
      minPredictions: 40,
    },
  }), 0);
  // The dry-run experiment: the same workers, by address, under another model name.
  await kv.compareAndSet(`models/${dryModel}/config`, JSON.stringify({ ...config({ static: [prodWorker.address] }), workerModel: model }), 0);
  await kv.compareAndSet(`experiments/${dryModel}`, JSON.stringify({
    entityKey: 'userId',
    policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 30 },
    variants: [{ name: 'a', pool: { static: [prodWorker.address] } }, { name: 'b', pool: { static: [canary!.address] } }],
    conclude: { when: { probabilityBest: 0.95, forSeconds: 3, minTrialsPerVariant: 60 }, mode: 'dry-run' },
  }), 0);

  const events = ['--kafka-brokers', brokers.join(','), '--events-topic-prefix', topicPrefix];
  gateways.push(...(await Promise.all([1, 2].map(() => start(startGatewayProcess([...registryArgs, ...events, '--experiment-records', 'registry', '--feedback-keys', SECRET]))))));
  const group = ['--group-id', `aggregator-${kafka.topic('conclusion')}`, '--publish-interval-ms', '300'];
  await Promise.all([1, 2].map(() => start(startAggregatorProcess([...registryArgs, ...events, ...group]))));
});

after(async () => {
  await Promise.all(running.map((process) => process.stop()));
  for (const socket of sockets) socket.destroy();
  silent?.close();
  await createConsulClient(consulAddr).agent.service.deregister(`silent-${model}`).catch(() => undefined);
});

test('guardrail trips the flaky variant, the better one is promoted to prod once with no failed request, dry-run changes nothing', { timeout: 8 * 60_000 }, async () => {
  const users = load(model);
  const dryUsers = load(dryModel);
  let tripped: View | undefined;
  await eventually('the flaky variant to trip its guardrail', async () => {
    const seen = await view(model);
    if (seen.variants.find((variant) => variant.name === 'flaky')?.guardrail) tripped = seen;
    return tripped !== undefined;
  }, WAIT_MS, 200);
  const flaky = tripped!.variants.find((variant) => variant.name === 'flaky')!;
  assert.equal(flaky.guardrail!.metric, 'defaultRate');
  assert.equal(flaky.guardrail!.dryRun, false);
  assert.notEqual(tripped!.conclusion?.state, 'concluded', 'tripped before anything concluded');

  let conditionMet = 0;
  await eventually('the experiment to be pending', async () => ((await view(model)).conclusion?.state ?? 'none') !== 'none', WAIT_MS, 100);
  conditionMet = (await view(model)).conclusion!.since;
  await eventually('the promotion to be done', async () => (await view(model)).conclusion?.promotion === 'done', WAIT_MS, 100);
  const promotedSeen = Date.now();
  const concluded = await view(model);
  assert.equal(concluded.conclusion!.winner, 'b');
  assert.deepEqual(concluded.conclusion!.promoted, { deployment: 'prod', version: 'v2' });
  assert.deepEqual(concluded.variants.map((variant) => [variant.name, variant.share]), [['a', 0], ['b', 1], ['flaky', 0]]);
  // The prod deployment's worker reloads v2: its first answer from the new version.
  const client = inferenceClient(prodWorker.address);
  let firstV2 = 0;
  await eventually('prod to answer with v2', async () => {
    const response = await unary<{ model_version: string }>(client, 'ModelInfer', logisticRequest(model));
    if (response.model_version === 'v2') firstV2 = Date.now();
    return firstV2 > 0;
  }, WAIT_MS, 20);
  client.close();
  await eventually('the dry-run to say would_conclude', async () => (await view(dryModel)).conclusion?.state === 'would_conclude', WAIT_MS, 200);
  // Both replicas route the concluded record: every new user gets b.
  const after = calls.length;
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await users.stop();
  await dryUsers.stop();

  const failed = calls.filter((call) => call.status !== 200);
  assert.deepEqual(failed.map((call) => call.status), [], 'no failed request while both gateways served');
  const lateVariants = new Set(calls.slice(after).filter((call) => call.model === model && !call.answer!.default).map((call) => call.answer!.variant));
  assert.deepEqual([...lateVariants], ['b']);
  const dry = await view(dryModel);
  assert.ok(dry.variants.every((variant) => variant.share > 0 && variant.share < 1), `dry-run keeps the policy's shares: ${JSON.stringify(dry.variants)}`);
  const prod = (await new ModelRegistry(kv).deployment(model, 'prod'))!.record;
  assert.equal(prod.history.filter((entry) => entry.version === 'v2').length, 1, 'promoted once with two aggregators');

  const lifecycle = await consumeUntil(brokers, [lifecycleTopic], (events) => events.some((event) => event.envelope.type === 'infermesh.experiment.would_conclude') && events.some((event) => event.envelope.type === 'infermesh.experiment.concluded'), 60_000);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const all = await consumeUntil(brokers, [lifecycleTopic], (events) => events.length >= lifecycle.length, 30_000);
  const of = (type: string, target: string) => all.filter((event) => event.envelope.type === type && (event.envelope.data as { model: string }).model === target);
  assert.equal(of('infermesh.experiment.concluded', model).length, 1, 'concluded once');
  assert.equal(of('infermesh.experiment.guardrail_tripped', model).length, 1, 'tripped once');
  assert.equal(of('infermesh.experiment.would_conclude', dryModel).length, 1, 'would_conclude once');
  assert.equal(of('infermesh.experiment.concluded', dryModel).length, 0);
  const flakyCalls = calls.filter((call) => call.model === model && call.answer?.variant === 'flaky');
  const defaultShare = flakyCalls.filter((call) => call.answer!.default).length / Math.max(1, flakyCalls.length);
  console.log(
    `conclusion e2e: ${calls.length} requests, 0 failed; flaky answered ${(defaultShare * 100).toFixed(0)} % default outputs (${flakyCalls.length} predictions) and was tripped at ${flaky.guardrail!.value.toFixed(3)}; ` +
      `condition met → promotion done ${promotedSeen - conditionMet} ms (forSeconds 3 s included) → first answer of prod at v2 ${firstV2 - promotedSeen} ms`,
  );
});
