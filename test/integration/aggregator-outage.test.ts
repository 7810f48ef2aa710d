/**
 * The aggregator through outages of its upstreams, each on a Kafka broker or Consul agent of the
 * test's own (stopping the shared ones would disturb other test files): what the README promises
 * while one is down, and a record equal to the recount once it is back.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { KafkaEventSink, spooledEventOf, type EventEnvelope } from '@infermesh/shared';
import { startConsul } from '../infra/consul-agent.js';
import { startKafka } from '../infra/kafka-broker.js';
import { aggregatorTestSetup, eventScript, evidenceOf, metricValue, publishedRecord, recountTopics, type Evidence } from '../support/aggregator-events.js';
import { quietLogger } from '../support/events-support.js';
import { eventually } from '../support/load-generator.js';
import { startAggregatorProcess, type WorkerProcess } from '../support/worker-process.js';

/** Milliseconds for an outage to be noticed, a restart or a catch-up: processes start through tsx, machines are shared. */
const WAIT_MS = 120_000;
const running: WorkerProcess[] = [];
after(async () => {
  await Promise.all(running.map((process) => process.stop()));
});

const sorted = (evidence: Evidence) => JSON.stringify(Object.fromEntries(Object.entries(evidence).sort(([a], [b]) => a.localeCompare(b))));
const count = (batches: readonly EventEnvelope[][]) => batches.reduce((sum, batch) => sum + batch.length, 0);

/** Waits until the published record reports exactly `expected`. */
async function recordEquals(kv: Awaited<ReturnType<typeof aggregatorTestSetup>>['kv'], expected: Evidence): Promise<void> {
  let last: Evidence = {};
  await eventually('the published record to equal the recount', async () => {
    last = evidenceOf(await publishedRecord(kv));
    return sorted(last) === sorted(expected);
  }, WAIT_MS, 250).catch((error: Error) => assert.fail(`${error.message}\npublished: ${sorted(last)}\nrecount:   ${sorted(expected)}`));
}

/** Log lines reach stdout in batches, at most 200 ms after they are written: callers wait for them. */
const logged = (aggregator: WorkerProcess, message: string, level: string) =>
  aggregator.logs.some((line) => line.includes(`"msg":"${message}"`) && line.includes(`"level":"${level}"`));

test('Kafka stopped and restarted: records keep being published from the stored states, upstream_up says so, counting resumes exactly', async (t) => {
  const broker = await startKafka();
  after(() => broker.stop());
  const { brokers, topics, kv, sink, args } = await aggregatorTestSetup('aggregator-kafka-outage', { brokers: broker.brokers });
  const aggregator = await startAggregatorProcess([...args, '--publish-interval-ms', '300']);
  running.push(aggregator);
  const sends = eventScript(1_500, 4);
  const half = Math.floor(sends.length / 2);
  for (const batch of sends.slice(0, half)) await sink.send(batch);
  await sink.stop();
  const before = await recountTopics(brokers, topics, count(sends.slice(0, half)));
  await recordEquals(kv, before);
  const kafkaUp = () => metricValue(aggregator.metricsPort, 'infermesh_aggregator_upstream_up', { upstream: 'kafka' });
  assert.equal(await kafkaUp(), 1);

  await broker.stop();
  await eventually('upstream_up{kafka} to drop to 0', async () => (await kafkaUp()) === 0, WAIT_MS, 200);
  const during = (await publishedRecord(kv))!;
  await eventually('records still published while Kafka is down', async () => ((await publishedRecord(kv))?.generatedAt ?? 0) >= during.generatedAt + 3 * 300, WAIT_MS, 200);
  const stamped = await publishedRecord(kv);
  assert.equal(sorted(evidenceOf(stamped)), sorted(before), 'the same evidence, stamped again');
  assert.equal(stamped!.sequence, during.sequence, 'under the same sequence');
  await eventually('the outage is logged at WARN', () => logged(aggregator, 'Kafka unavailable; retrying', 'warn'), 5_000);

  await broker.start();
  await eventually('upstream_up{kafka} back to 1', async () => (await kafkaUp()) === 1, WAIT_MS, 200);
  // A fresh producer: the test's own sink went away with the broker.
  const resumed = new KafkaEventSink({ connection: { brokers, clientId: 'aggregator-test' }, topicPrefix: topics[0]!.replace(/predictions$/, ''), createTopics: false, logger: quietLogger(), random: Math.random });
  await resumed.start();
  after(() => resumed.stop());
  for (const batch of sends.slice(half)) await resumed.send(batch.map(spooledEventOf));
  const expected = await recountTopics(brokers, topics, count(sends));
  await recordEquals(kv, expected);
  await eventually('the end of the outage is logged at INFO', () => logged(aggregator, 'Kafka reachable again', 'info'), 5_000);
  t.diagnostic(`${count(sends)} messages; record #${during.sequence} at the outage, published again while Kafka was down; final ${sorted(expected)}`);
  assert.equal(await aggregator.stop(), 0);
});

test('Consul stopped and restarted: publications fail and are counted, upstream_up says so, and what was counted meanwhile is stored and published after', async (t) => {
  const agent = await startConsul();
  after(() => agent.stop());
  const { brokers, topics, kv, sink, args } = await aggregatorTestSetup('aggregator-consul-outage', { consulAddr: agent.httpAddr });
  after(() => sink.stop());
  const aggregator = await startAggregatorProcess([...args, '--publish-interval-ms', '300']);
  running.push(aggregator);
  const metric = (name: string, labels: Record<string, string> = {}) => metricValue(aggregator.metricsPort, name, labels);
  const sends = eventScript(1_500, 5);
  const third = Math.floor(sends.length / 3);
  for (const batch of sends.slice(0, third)) await sink.send(batch);
  await recordEquals(kv, await recountTopics(brokers, topics, count(sends.slice(0, third))));
  const sequence = (await publishedRecord(kv))!.sequence;

  await agent.stop();
  // Events keep coming: counted in memory, neither stored nor published.
  for (const batch of sends.slice(third, 2 * third)) await sink.send(batch);
  await eventually('the outage in the metrics', async () =>
    (await metric('infermesh_aggregator_upstream_up', { upstream: 'consul' })) === 0 &&
    (await metric('infermesh_aggregator_record_publish_failures_total', { reason: 'unavailable' })) > 0 &&
    (await metric('infermesh_aggregator_state_writes_total', { outcome: 'failed' })) > 0 &&
    (await metric('infermesh_aggregator_record_age_seconds')) >= 2, WAIT_MS, 200);
  await eventually('the outage is logged at WARN', () => logged(aggregator, 'Consul unavailable; retrying', 'warn'), 5_000);

  await agent.start();
  for (const batch of sends.slice(2 * third)) await sink.send(batch);
  const expected = await recountTopics(brokers, topics, count(sends));
  await recordEquals(kv, expected);
  await eventually('upstream_up{consul} back to 1', async () => (await metric('infermesh_aggregator_upstream_up', { upstream: 'consul' })) === 1, WAIT_MS, 200);
  await eventually('the end of the outage is logged at INFO', () => logged(aggregator, 'Consul reachable again', 'info'), 5_000);
  const failures = await metric('infermesh_aggregator_record_publish_failures_total', { reason: 'unavailable' });
  t.diagnostic(`${count(sends)} messages; record #${sequence} before the outage, ${failures} publications failed during it; final ${sorted(expected)}`);
  assert.equal(await aggregator.stop(), 0);
});
