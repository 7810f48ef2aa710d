/**
 * The experiment's history (`GET /v1/experiments/{model}/history`) is the same on every replica
 * and survives restarts: on real Consul + Kafka with the aggregator service, and in the embedded
 * mesh (in-process aggregator, file registry). Time runs fast: the aggregator and the embedded
 * gateway take a clock on which a real second is a simulated minute, so a few seconds make a few
 * minute points.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConsulKvStore, createConsulClient, createLogger, FileKvStore, InMemoryEventPublisher, loadConfig, type KvStore } from '@infermesh/shared';
import { AGGREGATOR_OPTIONS, createAggregator, type Aggregator, type AggregatorConfig } from '@infermesh/aggregator';
import { createGateway, type Gateway, type GatewayConfig } from '@infermesh/gateway';
import { decodeChunk, historyPointsBetween, historyPrefixOf, HistoryWriter, MINUTE_MS, type ExperimentRecord, type HistoryPoint } from '@infermesh/experiments';
import { Registry } from 'prom-client';
import { MODEL, aggregatorTestSetup, eventScript } from '../support/aggregator-events.js';
import { testConsul } from '../infra/test-infra.js';
import { eventually } from '../support/load-generator.js';
import { testGatewayConfig } from '../support/gateway-config.js';

/** Simulated milliseconds per real millisecond: a real second is a simulated minute. */
const SPEED = 60;
const MODEL_CONFIG = JSON.stringify({ inputs: { a: { type: 'number' } }, tensors: { features: { datatype: 'FP32', shape: [1], from: ['inputs.a'] } }, pool: { static: ['127.0.0.1:1'] } });
const EMBEDDED_EXPERIMENT = JSON.stringify({ entityKey: 'userId', policy: { type: 'weighted' }, variants: [{ name: 'a', pool: { static: ['127.0.0.1:1'] } }, { name: 'b', pool: { static: ['127.0.0.1:1'] } }] });

const running: { stop(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(running.map((part) => part.stop()));
});

/** A clock that starts at the real time and runs {@link SPEED} times faster. */
function fastClock(): () => number {
  const start = Date.now();
  return () => start + (Date.now() - start) * SPEED;
}

async function startGateway(config: Partial<GatewayConfig>, now?: () => number): Promise<Gateway> {
  const gateway = await createGateway(testGatewayConfig(config), {
    logger: createLogger({ service: 'gateway', level: 'silent' }),
    registry: new Registry(),
    serverVersion: 'test',
    events: new InMemoryEventPublisher({ source: 'urn:test' }),
    watchWaitMs: 500,
    ...(now === undefined ? {} : { now }),
  });
  running.push(gateway);
  await gateway.ready;
  return gateway;
}

async function history(gateway: Gateway, query = 'from=0&to=99999999999999'): Promise<{ status: number; body: { model: string; points: HistoryPoint[]; error?: { code: string } } }> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/experiments/${MODEL}/history?${query}`);
  return { status: response.status, body: (await response.json()) as { model: string; points: HistoryPoint[] } };
}

/** One point a minute, increasing: what every history must be. */
function assertOnePerMinute(points: readonly HistoryPoint[]): void {
  const minutes = points.map((point) => Math.floor(point.t / MINUTE_MS));
  assert.ok(minutes.every((minute, index) => index === 0 || minute > minutes[index - 1]!), `one point a minute, sorted: ${minutes.join(',')}`);
}

test('with the aggregator service on Consul + Kafka, two gateways serve the same history, and it continues across an aggregator restart', async (t) => {
  const setup = await aggregatorTestSetup('experiment-history');
  running.push({ stop: () => setup.sink.stop() });
  await setup.kv.compareAndSet(`models/${MODEL}/config`, MODEL_CONFIG, 0);
  const now = fastClock();
  const config = loadConfig<AggregatorConfig>(AGGREGATOR_OPTIONS, { argv: [...setup.args, '--publish-interval-ms', '250', '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--log-level', 'silent'], env: {} });
  const startAggregator = async (): Promise<Aggregator> => {
    const aggregator = await createAggregator(config, { logger: createLogger({ service: 'aggregator', level: 'silent' }), registry: new Registry(), now, watchWaitMs: 500 });
    running.push(aggregator);
    await aggregator.ready;
    return aggregator;
  };
  const consulAddr = setup.args[setup.args.indexOf('--consul') + 1]!;
  const kvPrefix = setup.args[setup.args.indexOf('--kv-prefix') + 1]!;
  const gateways = [await startGateway({ consul: consulAddr, kvPrefix, experimentRecords: 'registry' }), await startGateway({ consul: consulAddr, kvPrefix, experimentRecords: 'registry' })];

  const first = await startAggregator();
  for (const batch of eventScript(600, 7)) await setup.sink.send(batch);
  await eventually('five minute points with counted trials', async () => {
    const { points } = (await history(gateways[0]!)).body;
    return points.length >= 5 && points.some((point) => (point.variants.current?.trials ?? 0) > 0);
  }, 60_000, 500);
  await first.stop();

  // Both replicas answer the same points once their caches (5 s) have read the stopped history.
  let before: HistoryPoint[] = [];
  await eventually('both gateways to serve the same history', async () => {
    const [a, b] = await Promise.all([history(gateways[0]!), history(gateways[1]!)]);
    before = a.body.points;
    return JSON.stringify(a.body) === JSON.stringify(b.body) && a.body.points.length >= 5;
  }, 30_000, 500);
  assertOnePerMinute(before);
  assert.deepEqual(Object.keys(before.at(-1)!.variants).sort(), ['candidate', 'current', 'legacy']);

  const second = await startAggregator();
  await eventually('the restarted aggregator to add points', async () => (await history(gateways[1]!)).body.points.length >= before.length + 3, 60_000, 500);
  await second.stop();
  let afterRestart: HistoryPoint[] = [];
  await eventually('both gateways to agree again', async () => {
    const [a, b] = await Promise.all([history(gateways[0]!), history(gateways[1]!)]);
    afterRestart = a.body.points;
    return JSON.stringify(a.body) === JSON.stringify(b.body) && a.body.points.length >= before.length + 3;
  }, 30_000, 500);
  assert.deepEqual(afterRestart.slice(0, before.length), before, 'the history before the restart is kept as it was');
  assertOnePerMinute(afterRestart);
  assert.ok(afterRestart.at(-1)!.sequence >= before.at(-1)!.sequence, 'sequences continue from the stored record');

  // The range and the errors of the API.
  const middle = afterRestart[2]!.t;
  assert.deepEqual((await history(gateways[0]!, `from=${middle}&to=${new Date(middle).toISOString()}`)).body.points, [afterRestart[2]]);
  const bad = await history(gateways[0]!, 'from=yesterday');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error?.code, 'INVALID_ARGUMENT');
  const unknown = await fetch(`http://127.0.0.1:${gateways[0]!.port}/v1/experiments/no-such-model/history`);
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'MODEL_NOT_FOUND');
  t.diagnostic(`${before.length} points before the restart, ${afterRestart.length} after`);
});

test('the embedded mesh (in-process aggregator, file registry) keeps its history across a gateway restart', async (t) => {
  const registryDir = mkdtempSync(join(tmpdir(), 'history-registry-'));
  const kv: KvStore = new FileKvStore(registryDir);
  await kv.compareAndSet(`models/${MODEL}/config`, MODEL_CONFIG, 0);
  await kv.compareAndSet(`experiments/${MODEL}`, EMBEDDED_EXPERIMENT, 0);
  const now = fastClock();
  const config = { registryDir, recordIntervalMs: 250 };

  const first = await startGateway(config, now);
  await eventually('three minute points', async () => (await history(first)).body.points.length >= 3, 30_000, 500);
  await first.stop();
  const kept = (await history(await startGateway(config, now))).body.points;
  assert.ok(kept.length >= 3, `the restarted gateway serves the history written before (${kept.length} points)`);
  const restarted = running.at(-1) as Gateway;
  await eventually('new points after the restart', async () => (await history(restarted)).body.points.length >= kept.length + 2, 30_000, 500);
  const all = (await history(restarted)).body.points;
  assert.deepEqual(all.slice(0, kept.length), kept, 'the points before the restart are kept');
  assertOnePerMinute(all);
  assert.deepEqual(Object.keys(all[0]!.variants), ['a', 'b']);
  assert.ok(all.every((point) => Math.abs(point.variants.a!.share - 0.5) < 1e-9));
  t.diagnostic(`${kept.length} points before the restart, ${all.length} after`);
});

test('two history writers racing on Consul (two aggregator instances) never duplicate a point', async () => {
  const consul = await testConsul();
  const kv = new ConsulKvStore(createConsulClient(consul.httpAddr), consul.prefix);
  const logger = createLogger({ service: 'aggregator', level: 'silent' });
  const writers = [new HistoryWriter({ kv, logger }), new HistoryWriter({ kv, logger })];
  const start = Date.UTC(2026, 11, 7, 9, 30);
  const record = (t: number): ExperimentRecord => ({ model: 'race', sequence: t, generatedAt: t, layout: [['a', 0]], variants: { a: { trials: 1, rewardSum: 0, rewardSumSquares: 0, updatedAt: t, share: 1, probabilityBest: 1 } } });
  let appended = 0;
  for (let t = start; t < start + 45 * MINUTE_MS; t += 15_000) {
    const outcomes = await Promise.all(writers.map((writer, index) => writer.append(record(t + index), t + index)));
    appended += outcomes.filter((outcome) => outcome === 'appended').length;
  }
  const chunks = (await kv.list(historyPrefixOf('race'))).map((entry) => decodeChunk(entry.value));
  const points = historyPointsBetween(chunks, 0, Number.MAX_SAFE_INTEGER);
  assert.equal(points.length, 45);
  assert.equal(appended, 45, 'each minute appended once, by one of the two');
  assertOnePerMinute(points);
  assert.equal(chunks.length, 2, 'the minutes of two hours: two chunks');
});
