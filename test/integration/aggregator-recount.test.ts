import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MODEL, aggregatorTestSetup, eventScript, evidenceOf, metricValue, publishedRecord, recountTopics, type Evidence } from '../support/aggregator-events.js';
import { eventually } from '../support/load-generator.js';
import { startAggregatorProcess, type WorkerProcess } from '../support/worker-process.js';

/** Milliseconds for the aggregator to catch up with everything sent: processes start through tsx, machines are shared. */
const CATCH_UP_MS = 120_000;
const running: WorkerProcess[] = [];
after(async () => {
  await Promise.all(running.map((process) => process.stop()));
});

async function start(args: readonly string[]): Promise<WorkerProcess> {
  const started = await startAggregatorProcess(args);
  running.push(started);
  return started;
}

/** Waits until the published record reports exactly `expected`, then returns it. */
async function recordEquals(kv: Awaited<ReturnType<typeof aggregatorTestSetup>>['kv'], expected: Evidence) {
  let last: Evidence = {};
  await eventually('the published record to equal the recount', async () => {
    last = evidenceOf(await publishedRecord(kv));
    return JSON.stringify(sorted(last)) === JSON.stringify(sorted(expected));
  }, CATCH_UP_MS, 250).catch((error: Error) => {
    throw new Error(`${error.message}\npublished: ${JSON.stringify(sorted(last))}\nrecount:   ${JSON.stringify(sorted(expected))}`);
  });
  return (await publishedRecord(kv))!;
}

const sorted = (evidence: Evidence) => Object.fromEntries(Object.entries(evidence).sort(([a], [b]) => a.localeCompare(b)));

test('thousands of predictions and rewards, with resent batches and tokens redeemed twice: the record equals a recount of the topics', async (t) => {
  const { brokers, topics, kv, sink, args } = await aggregatorTestSetup('aggregator-recount');
  after(() => sink.stop());
  const aggregator = await start([...args, '--publish-interval-ms', '300']);
  const sends = eventScript(4_000, 1);
  for (const batch of sends) await sink.send(batch);
  const messages = sends.reduce((sum, batch) => sum + batch.length, 0);

  const expected = await recountTopics(brokers, topics, messages);
  const record = await recordEquals(kv, expected);
  assert.deepEqual(Object.keys(expected).sort(), ['candidate', 'current', 'legacy'], 'the script exercised a retired variant');
  assert.equal(record.variants.legacy!.share, 0, 'a variant no longer in the experiment keeps its evidence and gets no traffic');
  assert.ok(record.variants.candidate!.probabilityBest > record.variants.current!.probabilityBest, 'the better variant leads');
  const trialCopies = await metricValue(aggregator.metricsPort, 'infermesh_aggregator_duplicates_skipped_total', { kind: 'trial' });
  const rewardCopies = await metricValue(aggregator.metricsPort, 'infermesh_aggregator_duplicates_skipped_total', { kind: 'reward' });
  assert.ok(trialCopies > 0 && rewardCopies > 0, `copies were sent and skipped (trials ${trialCopies}, rewards ${rewardCopies})`);
  assert.equal(await metricValue(aggregator.metricsPort, 'infermesh_aggregator_partitions_owned'), 7);
  assert.equal((await fetch(`http://127.0.0.1:${aggregator.metricsPort}/healthz`)).status, 200);
  t.diagnostic(`${messages} messages; recount ${JSON.stringify(sorted(expected))}; skipped ${trialCopies} trial and ${rewardCopies} reward copies; record #${record.sequence}`);
  assert.equal(await aggregator.stop(), 0);
});

test('an aggregator SIGKILLed mid-stream and restarted publishes exactly the recount: nothing lost, nothing counted twice', async (t) => {
  const { brokers, topics, kv, sink, args } = await aggregatorTestSetup('aggregator-sigkill');
  after(() => sink.stop());
  // A slow round leaves counted-but-unstored progress in memory when the kill comes.
  const aggregatorArgs = [...args, '--publish-interval-ms', '1000'];
  const first = await start(aggregatorArgs);
  const sends = eventScript(4_000, 2);
  const killAt = Math.floor(sends.length * 0.4);
  for (const batch of sends.slice(0, killAt)) await sink.send(batch);
  await eventually('a first record with counts', async () => ((await publishedRecord(kv))?.variants.current?.trials ?? 0) > 0, CATCH_UP_MS, 100);

  // Events keep flowing while the aggregator dies.
  const resume = Math.floor(sends.length * 0.7);
  const sending = (async () => {
    for (const batch of sends.slice(killAt, resume)) await sink.send(batch);
  })();
  first.process.kill('SIGKILL');
  await first.exited;
  const atKill = evidenceOf(await publishedRecord(kv));
  await sending;

  const second = await start(aggregatorArgs);
  for (const batch of sends.slice(resume)) await sink.send(batch);
  const messages = sends.reduce((sum, batch) => sum + batch.length, 0);
  const expected = await recountTopics(brokers, topics, messages);
  const record = await recordEquals(kv, expected);
  const replayed = await metricValue(second.metricsPort, 'infermesh_aggregator_events_replayed_total');
  assert.ok(replayed > 0, 'the restarted aggregator re-read the recent past to rebuild its deduplication memory');
  t.diagnostic(`${messages} messages; published at the kill: ${JSON.stringify(sorted(atKill))}; final record #${record.sequence}: ${JSON.stringify(sorted(evidenceOf(record)))}; ${replayed} messages re-read after the restart`);
  assert.equal(record.model, MODEL);
});
