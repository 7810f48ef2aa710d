import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parsePartitionState, partitionStatesPrefix } from '@infermesh/aggregator';
import { aggregatorTestSetup, eventScript, evidenceOf, metricValue, publishedRecord, recountTopics, type Evidence } from '../support/aggregator-events.js';
import { eventually } from '../support/load-generator.js';
import { startAggregatorProcess, type WorkerProcess } from '../support/worker-process.js';

/** Milliseconds for a rebalance or a catch-up: the group waits out a killed member's 10 s session, processes start through tsx. */
const WAIT_MS = 120_000;
/** Partitions of the test topics (4 predictions + 3 feedback). */
const PARTITIONS = 7;
const running: WorkerProcess[] = [];
after(async () => {
  await Promise.all(running.map((process) => process.stop()));
});

const sorted = (evidence: Evidence) => JSON.stringify(Object.fromEntries(Object.entries(evidence).sort(([a], [b]) => a.localeCompare(b))));

test('two instances share the partitions through the consumer group; after one is killed the other takes all; the record equals the recount', async (t) => {
  const { brokers, topics, kv, sink, args } = await aggregatorTestSetup('aggregator-rebalance');
  after(() => sink.stop());
  const groupId = args[args.indexOf('--group-id') + 1]!;
  const aggregatorArgs = [...args, '--publish-interval-ms', '300'];
  const sends = eventScript(4_000, 3);
  const third = Math.floor(sends.length / 3);

  const first = await startAggregatorProcess(aggregatorArgs);
  running.push(first);
  for (const batch of sends.slice(0, third)) await sink.send(batch);
  const second = await startAggregatorProcess(aggregatorArgs);
  running.push(second);
  const owned = async () => [await metricValue(first.metricsPort, 'infermesh_aggregator_partitions_owned'), await metricValue(second.metricsPort, 'infermesh_aggregator_partitions_owned')];
  await eventually('both instances to own partitions', async () => {
    const [a, b] = await owned();
    return a! > 0 && b! > 0 && a! + b! === PARTITIONS;
  }, WAIT_MS, 200);
  for (const batch of sends.slice(third, 2 * third)) await sink.send(batch);
  // Both instances store the partitions they own: the record sums states written by two writers.
  const writers = async () => new Set((await kv.list(partitionStatesPrefix(groupId))).map((entry) => parsePartitionState(entry.key, entry.value).writer));
  await eventually('partition states stored by both instances', async () => (await writers()).size === 2, WAIT_MS, 200);
  const shared = await owned();

  first.process.kill('SIGKILL');
  await first.exited;
  for (const batch of sends.slice(2 * third)) await sink.send(batch);
  await eventually('the survivor to own every partition', async () => (await metricValue(second.metricsPort, 'infermesh_aggregator_partitions_owned')) === PARTITIONS, WAIT_MS, 200);

  const messages = sends.reduce((sum, batch) => sum + batch.length, 0);
  const expected = await recountTopics(brokers, topics, messages);
  let published: Evidence = {};
  await eventually('the record to equal the recount', async () => {
    published = evidenceOf(await publishedRecord(kv));
    return sorted(published) === sorted(expected);
  }, WAIT_MS, 250).catch((error: Error) => {
    throw new Error(`${error.message}\npublished: ${sorted(published)}\nrecount:   ${sorted(expected)}`);
  });
  const conflicts = await metricValue(second.metricsPort, 'infermesh_aggregator_state_writes_total', { outcome: 'conflict' });
  t.diagnostic(`${messages} messages; partitions shared ${shared.join(' + ')}; survivor's lost state writes: ${conflicts}; recount ${sorted(expected)}`);
  assert.equal(await second.stop(), 0, 'SIGTERM: last state write and record, then a clean exit');
});
