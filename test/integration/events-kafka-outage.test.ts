import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { validateEvent } from '@infermesh/shared';
import { startKafka, type KafkaBroker } from '../infra/kafka-broker.js';
import { eventually } from '../support/load-generator.js';
import { atLeastDistinct, consumeUntil, distinctPredictions, kafkaPublisher, servedEvent } from '../support/events-support.js';

/** Events published across the outage. */
const EVENT_COUNT = 5_000;
/** The broker is told to stop after this many events; by this many it must be down; it is started again after this many. */
const STOP_AT = 1_500;
const DOWN_BY = 3_000;
const RESTART_AT = 4_000;
/** Events published between two pauses, and the pause, milliseconds: about 2,000 events/s. */
const PACE_EVENTS = 50;
const PACE_MS = 25;
/** Milliseconds an independent consumer may take to read everything after the restart. */
const CONSUME_TIMEOUT_MS = 180_000;

// A dedicated broker: stopping the suite's would disturb other test files.
let broker: KafkaBroker | undefined;
async function dedicatedBroker(): Promise<KafkaBroker> {
  if (broker === undefined) {
    broker = await startKafka();
    const started = broker;
    after(() => started.stop());
  }
  return broker;
}

test('5,000 events published while the broker is stopped and restarted part-way: exactly 5,000 distinct events arrive, all valid', async (t) => {
  const kafka = await dedicatedBroker();
  const prefix = `test-outage-${randomUUID().slice(0, 8)}.`;
  const { publisher, registry } = kafkaPublisher(kafka.brokers, prefix);
  await publisher.start();
  after(() => publisher.stop());

  const predictionIds = Array.from({ length: EVENT_COUNT }, () => randomUUID());
  const published: Promise<void>[] = [];
  let stopping: Promise<void> | undefined;
  let restarting: Promise<void> | undefined;
  let queuedAtRestart = 0;
  for (let index = 0; index < EVENT_COUNT; index += 1) {
    if (index === STOP_AT) stopping = kafka.stop();
    if (index === DOWN_BY) await stopping;
    if (index === RESTART_AT) {
      queuedAtRestart = publisher.queued;
      restarting = kafka.start();
    }
    published.push(publisher.publish(servedEvent(index, predictionIds[index])));
    if (index % PACE_EVENTS === PACE_EVENTS - 1) await sleep(PACE_MS);
  }
  // Every publish resolved, including those made while the broker was down.
  await Promise.all(published);
  await restarting;
  assert.ok(queuedAtRestart >= RESTART_AT - DOWN_BY, `the events published while the broker was down waited in the spool (${queuedAtRestart})`);

  const consumed = await consumeUntil(kafka.brokers, [`${prefix}predictions`], atLeastDistinct(EVENT_COUNT), CONSUME_TIMEOUT_MS);
  const received = distinctPredictions(consumed);
  assert.equal(received.size, EVENT_COUNT);
  assert.deepEqual([...received].sort(), [...predictionIds].sort());
  const idsPerPrediction = new Map<string, Set<string>>();
  for (const { envelope, key, headers } of consumed) {
    assert.deepEqual(validateEvent(envelope), []);
    assert.equal(key, envelope.subject);
    assert.match(headers['content-type'] ?? '', /^application\/cloudevents\+json/);
    const predictionId = (envelope.data as { predictionId: string }).predictionId;
    idsPerPrediction.set(predictionId, (idsPerPrediction.get(predictionId) ?? new Set()).add(envelope.id));
  }
  assert.ok([...idsPerPrediction.values()].every((ids) => ids.size === 1), 'a resent event kept its id');
  t.diagnostic(`${queuedAtRestart} events spooled when the broker came back; ${consumed.length - EVENT_COUNT} duplicates (same id) read`);

  await eventually('the spool drained', () => publisher.queued === 0, 30_000);
  const dropped = (await registry.getSingleMetric('infermesh_events_dropped_total')?.get())?.values ?? [];
  assert.equal(dropped.reduce((sum, value) => sum + value.value, 0), 0, 'nothing dropped');
});

test('the broker down when the publisher starts: start and publish resolve, the events arrive once it is up', async () => {
  const kafka = await dedicatedBroker();
  await kafka.stop();
  const prefix = `test-down-at-start-${randomUUID().slice(0, 8)}.`;
  const { publisher } = kafkaPublisher(kafka.brokers, prefix);
  await publisher.start();
  after(() => publisher.stop());
  const predictionIds = Array.from({ length: 100 }, () => randomUUID());
  await Promise.all(predictionIds.map((predictionId, index) => publisher.publish(servedEvent(index, predictionId))));
  assert.equal(publisher.queued, 100, 'all spooled, none sent: the broker is still down');

  await kafka.start();
  await eventually('the spool drained after the broker came up', () => publisher.queued === 0, 60_000);
  const consumed = await consumeUntil(kafka.brokers, [`${prefix}predictions`], atLeastDistinct(100), CONSUME_TIMEOUT_MS);
  assert.deepEqual([...distinctPredictions(consumed)].sort(), [...predictionIds].sort());
});
