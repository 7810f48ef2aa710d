import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger, FileKvStore, InMemoryEventPublisher, ModelRegistry, type KvStore } from '@infermesh/shared';
import { historyPrefixOf, HistoryWriter, parseExperimentConfig, parseExperimentRecord, type Discount, type ExperimentRecord } from '@infermesh/experiments';
import { Registry } from 'prom-client';
import { AggregatorMetrics } from '../metrics/aggregator-metrics.js';
import { PartitionStateStore } from '../state/partition-state-store.js';
import { PartitionTally } from '../tally/partition-tally.js';
import { RecordPublisher, type PublishedRecord } from './record-publisher.js';

const T0 = 1_800_000_000_000;
const TOPICS = ['x.predictions', 'x.feedback'];
const logger = createLogger({ service: 'test', level: 'silent' });
const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const EXPERIMENT = parseExperimentConfig('m', JSON.stringify({ entityKey: 'userId', policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 10 }, variants: [{ name: 'a', pool: { static: ['w:1'] } }, { name: 'b', pool: { static: ['w:1'] } }] }));

/** Stores one partition's counts the way an owner does. */
async function storePartition(kv: KvStore, topic: string, partition: number, events: [kind: 'trial' | 'reward' | 'answered' | 'default' | 'error', variant: string, value: number][], index = 0): Promise<void> {
  const tally = new PartitionTally({ topic, partition, snapshot: { offset: '0', newest: { trial: null, reward: null }, counts: {} }, windowMs: { trial: 1e9, reward: 1e9 }, maxIds: 1e6, discountFor: () => undefined });
  events.forEach(([kind, variant, value], offset) => {
    const predictionId = `${topic}${partition}-${offset}`;
    const evidence =
      kind === 'trial' ? { kind, predictionId, model: 'm', variant } : kind === 'reward' ? { kind, predictionId, model: 'm', variant, reward: value } : { kind: 'trial' as const, predictionId, model: 'm', variant, counted: kind === 'answered', outcome: kind, latencyMs: value };
    tally.apply({ offset: String(offset), timestampMs: T0 + offset, eventTimeMs: T0 + offset, evidence });
  });
  await new PartitionStateStore(kv, 'g', 'writer', () => T0).write(topic, partition, tally.snapshot(), index);
}

function setup(kv: KvStore, discount?: Discount, experiment = EXPERIMENT, history?: { append(record: ExperimentRecord, now: number): Promise<unknown> }) {
  let clock = T0 + 60_000;
  const registry = new Registry();
  let publisher: RecordPublisher | undefined;
  const events = new InMemoryEventPublisher({ source: 'urn:infermesh:aggregator:test', maxEvents: 1_000 });
  const metrics = new AggregatorMetrics(registry, { records: { generatedAt: () => publisher!.generatedAt() }, rememberedIds: () => ({ trial: 0, reward: 0 }) }, () => clock);
  publisher = new RecordPublisher({
    kv,
    states: new PartitionStateStore(kv, 'g', 'reader', () => clock),
    topics: TOPICS,
    experiments: { all: () => [{ model: 'm', experiment, revision: 7 }], discountFor: () => discount },
    metrics,
    logger,
    now: () => clock,
    samples: 2_000,
    ...(history === undefined ? {} : { history }),
    registry: new ModelRegistry(kv, () => new Date(clock)),
    events,
  });
  const value = async (name: string, labels: Record<string, string> = {}) =>
    (await registry.getSingleMetric(name)!.get()).values.find((entry) => Object.entries(labels).every(([key, label]) => entry.labels[key] === label))?.value ?? 0;
  return { publisher, value, events, tick: (ms: number) => (clock += ms) };
}

function fileKv(): FileKvStore {
  const dir = mkdtempSync(join(tmpdir(), 'records-kv-'));
  dirs.push(dir);
  return new FileKvStore(dir);
}

const read = async (kv: KvStore) => {
  const entry = (await kv.get('stats/m'))!;
  return parseExperimentRecord('m', entry.value) as PublishedRecord;
};

test('the record sums every partition\'s stored state, keeps variants that left the experiment, and the gateways accept it', async () => {
  const kv = fileKv();
  await storePartition(kv, 'x.predictions', 0, [['trial', 'a', 0], ['trial', 'a', 0], ['trial', 'retired', 0]]);
  await storePartition(kv, 'x.predictions', 1, [['trial', 'b', 0], ['trial', 'a', 0]]);
  await storePartition(kv, 'x.feedback', 0, [['reward', 'a', 1], ['reward', 'b', 0], ['reward', 'a', 1]]);
  await storePartition(kv, 'other.predictions', 0, [['trial', 'a', 0]]);
  const { publisher, value } = setup(kv);
  await publisher.publishAll();
  const record = await read(kv);
  assert.equal(record.sequence, 1);
  assert.deepEqual(
    Object.fromEntries(Object.entries(record.variants).map(([name, variant]) => [name, [variant.trials, variant.rewardSum, variant.rewardSumSquares]])),
    { a: [3, 2, 2], b: [1, 0, 0], retired: [1, 0, 0] },
    'sums over the topics of this aggregator only',
  );
  assert.equal(record.variants.retired!.share, 0);
  assert.deepEqual(record.offsets, { 'x.feedback/0': '3', 'x.predictions/0': '3', 'x.predictions/1': '2' });
  assert.equal(record.experimentRevision, 7);
  assert.equal(await value('infermesh_aggregator_records_published_total', { model: 'm' }), 1);
});

test('unchanged evidence is stamped again with the same sequence (same shares and P(best)); new evidence recomputes from the previous layout under the next sequence', async () => {
  const kv = fileKv();
  await storePartition(kv, 'x.predictions', 0, Array.from({ length: 30 }, (_, index) => ['trial', index % 2 ? 'a' : 'b', 0] as ['trial', string, number]));
  const { publisher, tick } = setup(kv);
  await publisher.publishAll();
  const first = await read(kv);
  tick(2_000);
  await publisher.publishAll();
  const second = await read(kv);
  assert.equal(second.sequence, first.sequence, 'nothing new: the same sequence');
  assert.equal(second.generatedAt, first.generatedAt + 2_000, 'written again: its age says the aggregator is alive');
  assert.deepEqual(second.variants, first.variants);
  assert.deepEqual(second.layout, first.layout);
  await storePartition(kv, 'x.feedback', 0, Array.from({ length: 15 }, () => ['reward', 'a', 1] as ['reward', string, number]));
  await publisher.publishAll();
  const third = await read(kv);
  assert.equal(third.sequence, first.sequence + 1, 'new evidence: the next sequence');
  assert.equal(third.variants.a!.rewardSum, 15);
  assert.ok(third.variants.a!.probabilityBest > first.variants.a!.probabilityBest);
});

test('with a discount the record ages the evidence to the publication time', async () => {
  const kv = fileKv();
  await storePartition(kv, 'x.predictions', 0, [['trial', 'a', 0], ['trial', 'a', 0]]);
  const { publisher, tick } = setup(kv, { factor: 0.5, unitMs: 60_000 });
  tick(60_000 - 1);
  await publisher.publishAll();
  assert.ok(Math.abs((await read(kv)).variants.a!.trials - 0.5) < 1e-3);
});

test('a record another instance published first is a conflict, not a failure; an unreachable KV is a failure and the record ages', async () => {
  const file = fileKv();
  await storePartition(file, 'x.predictions', 0, [['trial', 'a', 0]]);
  let down = false;
  let race = false;
  const kv: KvStore = {
    description: 'test',
    get: (key) => (down ? Promise.reject(new Error('down')) : file.get(key)),
    list: (prefix) => (down ? Promise.reject(new Error('down')) : file.list(prefix)),
    keys: (prefix) => (down ? Promise.reject(new Error('down')) : file.keys(prefix)),
    compareAndDelete: (key, index) => (down ? Promise.reject(new Error('down')) : file.compareAndDelete(key, index)),
    compareAndSet: async (key, value, index) => {
      if (race) await file.compareAndSet(key, value.replace('"sequence":', '"other":0,"sequence":'), index);
      return file.compareAndSet(key, value, index);
    },
    waitForChange: (key, index, options) => file.waitForChange(key, index, options),
    waitForPrefixChange: (prefix, index, options) => file.waitForPrefixChange(prefix, index, options),
  };
  const { publisher, value, tick } = setup(kv);
  race = true;
  assert.equal(await publisher.publishAll(), undefined, 'a lost race is no failure');
  assert.equal(await value('infermesh_aggregator_record_publish_conflicts_total', { model: 'm' }), 1);
  assert.equal(await value('infermesh_aggregator_records_published_total', { model: 'm' }), 0);
  race = false;
  const winner = await read(file);
  await publisher.publishAll();
  assert.equal(await value('infermesh_aggregator_records_published_total', { model: 'm' }), 1, 'the next publication was written on the winner\'s record');
  assert.equal((await read(file)).sequence, winner.sequence, 'the same evidence: the winner\'s sequence');
  down = true;
  tick(30_000);
  assert.match(String(await publisher.publishAll()), /down/, 'the KV error is returned for the outage report');
  assert.equal(await value('infermesh_aggregator_record_publish_failures_total', { model: 'm', reason: 'unavailable' }), 1);
  assert.equal(await value('infermesh_aggregator_record_age_seconds', { model: 'm' }), 30);
  down = false;
  await publisher.publishAll();
  assert.equal(await value('infermesh_aggregator_records_published_total', { model: 'm' }), 2);
  assert.equal((await read(file)).sequence, winner.sequence);
  assert.equal(await value('infermesh_aggregator_record_age_seconds', { model: 'm' }), 0);
});

test('every record this instance publishes is appended to the history (one point a minute), a record another instance won is not', async () => {
  const file = fileKv();
  await storePartition(file, 'x.predictions', 0, [['trial', 'a', 0]]);
  const appended: [number, number][] = [];
  const writer = new HistoryWriter({ kv: file, logger });
  const history = { append: (record: ExperimentRecord, now: number) => (appended.push([record.sequence, now]), writer.append(record, now)) };
  const { publisher, tick } = setup(file, undefined, EXPERIMENT, history);
  await publisher.publishAll();
  tick(30_000);
  await publisher.publishAll();
  tick(60_000);
  await publisher.publishAll();
  assert.deepEqual(appended.map(([, now]) => now), [T0 + 60_000, T0 + 90_000, T0 + 150_000], 'told of each publication, with the publisher\'s clock');
  const [chunk] = await file.list(historyPrefixOf('m'));
  assert.equal((JSON.parse(chunk!.value) as { points: unknown[] }).points.length, 2, 'one point per minute');

  const lost = { ...history, append: () => Promise.reject(new Error('must not be called')) };
  const race: KvStore = Object.assign(Object.create(file) as KvStore, { compareAndSet: () => Promise.resolve(false) });
  const other = setup(race, undefined, EXPERIMENT, lost);
  assert.equal(await other.publisher.publishAll(), undefined);
});

test('guardrail measures of every partition are summed into the record, and a change in them alone is a new record', async () => {
  const kv = fileKv();
  await storePartition(kv, 'x.predictions', 0, [['answered', 'a', 10], ['answered', 'a', 20], ['default', 'b', 300]]);
  await storePartition(kv, 'x.predictions', 1, [['error', 'b', 5], ['answered', 'b', 10]]);
  const { publisher, tick } = setup(kv);
  await publisher.publishAll();
  const first = await read(kv);
  assert.deepEqual({ ...first.variants.a!.measured, p99LatencyMs: null }, { predictions: 2, errors: 0, defaults: 0, p99LatencyMs: null });
  assert.deepEqual({ ...first.variants.b!.measured, p99LatencyMs: null }, { predictions: 3, errors: 1, defaults: 1, p99LatencyMs: null });
  assert.ok(first.variants.b!.measured!.p99LatencyMs! > 250, 'the slow default output is the p99');
  assert.equal(first.variants.b!.trials, 1, 'only the rewardable answer is a trial');
  // One more default output on b: no trial changed, but the guardrails' numbers did.
  const entry = (await kv.get('aggregator/g/partitions/x.predictions/1'))!;
  await storePartition(kv, 'x.predictions', 1, [['error', 'b', 5], ['answered', 'b', 10], ['default', 'b', 40]], entry.index);
  tick(1_000);
  await publisher.publishAll();
  const second = await read(kv);
  assert.equal(second.sequence, first.sequence + 1);
  assert.equal(second.variants.b!.measured!.defaults, 2);
});

const CONCLUDING = parseExperimentConfig(
  'm',
  JSON.stringify({
    entityKey: 'userId',
    policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 10 },
    variants: [{ name: 'a', pool: { deployment: 'prod' } }, { name: 'b', pool: { deployment: 'canary' } }],
    conclude: { when: { probabilityBest: 0.9, forSeconds: 5, minTrialsPerVariant: 50 }, promote: { deployment: 'prod' }, guardrails: [{ metric: 'defaultRate', max: 0.05 }], minPredictions: 20 },
  }),
);

/** A registry where prod serves v1 and canary v2. */
async function deployments(kv: KvStore): Promise<ModelRegistry> {
  const registry = new ModelRegistry(kv, () => new Date(T0));
  for (const version of ['v1', 'v2']) await registry.publish('m', version, { uri: `file:///m/${version}`, sha256: 'a'.repeat(64), format: 'infermesh_lookup', metadata: {} });
  await registry.promote('m', 'prod', 'v1');
  await registry.promote('m', 'canary', 'v2');
  return registry;
}

test('two publishers racing over one KV: the winner is promoted once, the conclusion announced once, and the record routes everything to it', async () => {
  const kv = fileKv();
  const registry = await deployments(kv);
  const events: [kind: 'trial' | 'reward', variant: string, reward: number][] = [];
  for (let index = 0; index < 200; index += 1) events.push(['trial', 'a', 0], ['trial', 'b', 0]);
  await storePartition(kv, 'x.predictions', 0, events);
  await storePartition(kv, 'x.feedback', 0, [...Array.from({ length: 10 }, () => ['reward', 'a', 1] as ['reward', string, number]), ...Array.from({ length: 80 }, () => ['reward', 'b', 1] as ['reward', string, number])]);
  const one = setup(kv, undefined, CONCLUDING);
  const two = setup(kv, undefined, CONCLUDING);
  await Promise.all([one.publisher.publishAll(), two.publisher.publishAll()]);
  assert.equal((await read(kv)).conclusion?.state, 'pending');
  for (const side of [one, two]) side.tick(6_000);
  // Several racing rounds: whoever writes the concluding record promotes; the rest find it done.
  for (let round = 0; round < 3; round += 1) {
    await Promise.all([one.publisher.publishAll(), two.publisher.publishAll()]);
    for (const side of [one, two]) side.tick(1_000);
  }
  const record = await read(kv);
  assert.equal(record.conclusion?.state, 'concluded');
  assert.equal(record.conclusion?.promotion, 'done');
  assert.deepEqual(record.conclusion?.promoted, { deployment: 'prod', version: 'v2' });
  assert.deepEqual(record.layout, [['b', 1]]);
  const prod = (await registry.deployment('m', 'prod'))!.record;
  assert.equal(prod.version, 'v2');
  assert.equal(prod.history.filter((entry) => entry.version === 'v2').length, 1, 'promoted once');
  const announced = [...one.events.events, ...two.events.events].filter((event) => event.type === 'infermesh.experiment.concluded');
  assert.equal(announced.length, 1, 'announced once');
  assert.deepEqual((announced[0]!.data as { version: string; deployment: string; winner: string }).version, 'v2');
});

test('a promotion that fails stays pending and is retried at the next publication', async () => {
  const kv = fileKv();
  const events: [kind: 'trial' | 'reward', variant: string, reward: number][] = [];
  for (let index = 0; index < 100; index += 1) events.push(['trial', 'a', 0], ['trial', 'b', 0]);
  await storePartition(kv, 'x.predictions', 0, events);
  await storePartition(kv, 'x.feedback', 0, Array.from({ length: 60 }, () => ['reward', 'b', 1] as ['reward', string, number]));
  const side = setup(kv, undefined, CONCLUDING);
  await side.publisher.publishAll();
  side.tick(6_000);
  // No canary deployment yet: nothing to promote.
  await side.publisher.publishAll();
  assert.equal((await read(kv)).conclusion?.promotion, 'pending');
  assert.equal((await read(kv)).conclusion?.promotionAttempts, 1);
  await deployments(kv);
  side.tick(1_000);
  await side.publisher.publishAll();
  assert.equal((await read(kv)).conclusion?.promotion, 'done');
  assert.equal(side.events.events.filter((event) => event.type === 'infermesh.experiment.concluded').length, 1);
});
