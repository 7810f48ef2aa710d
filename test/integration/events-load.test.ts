import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SpooledEventPublisher } from '@infermesh/shared';
import { startKafka } from '../infra/kafka-broker.js';
import { eventually } from '../support/load-generator.js';
import { consumeUntil, kafkaPublisher, servedEvent } from '../support/events-support.js';

/** Publishes per second, about what one gateway replica serves on this machine. */
const RATE_PER_SECOND = 2_000;
/** Seconds of load with the broker up, then with it down. */
const UP_SECONDS = 10;
const OUTAGE_SECONDS = 30;
/** Milliseconds between two pacing ticks. */
const TICK_MS = 5;
/** Largest growth of the heap (after a full GC) allowed over the outage, bytes: one batch and buffers, not the backlog. */
const MAX_HEAP_GROWTH_BYTES = 16 * 1024 * 1024;
/** Milliseconds to drain the backlog and read everything back. */
const DRAIN_TIMEOUT_MS = 180_000;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** A prediction id that encodes `index`, so the check needs no list of 80,000 ids in memory. */
const predictionIdOf = (index: number) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Publishes at RATE_PER_SECOND for `seconds` starting at event `first`; returns each publish()'s latency, ms. */
async function paced(publisher: SpooledEventPublisher, first: number, seconds: number, onSecond?: (second: number) => void): Promise<number[]> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const total = RATE_PER_SECOND * seconds;
  const started = performance.now();
  let sent = 0;
  let second = 0;
  while (sent < total) {
    const elapsed = performance.now() - started;
    const due = Math.min(total, Math.floor((elapsed / 1000) * RATE_PER_SECOND));
    for (; sent < due; sent += 1) {
      const issued = performance.now();
      const index = first + sent;
      pending.push(publisher.publish(servedEvent(index, predictionIdOf(index))).then(() => void latencies.push(performance.now() - issued)));
    }
    if (Math.floor(elapsed / 1000) > second) onSecond?.((second = Math.floor(elapsed / 1000)));
    if (pending.length > 1_000) await Promise.all(pending.splice(0));
    await sleep(TICK_MS);
  }
  await Promise.all(pending);
  return latencies;
}

function summary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(3)} ms, p99 ${percentile(sorted, 99).toFixed(3)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms (${sorted.length} publishes)`;
}

test(`publish() under ${RATE_PER_SECOND}/s with Kafka up, then through a ${OUTAGE_SECONDS} s outage: memory stays flat, every event arrives`, async (t) => {
  const kafka = await startKafka();
  after(() => kafka.stop());
  const prefix = `test-load-${Date.now().toString(36)}.`;
  const { publisher, registry } = kafkaPublisher(kafka.brokers, prefix);
  await publisher.start();
  after(() => publisher.stop());

  const up = await paced(publisher, 0, UP_SECONDS);
  await eventually('the up phase acknowledged', () => publisher.queued === 0, 60_000);
  const ackLatency = (await registry.getSingleMetric('infermesh_events_publish_latency_seconds')?.get())?.values ?? [];
  const named = ackLatency as { metricName?: string; value: number }[];
  const ackSum = named.find((value) => value.metricName?.endsWith('_sum'))?.value ?? 0;
  const ackCount = named.find((value) => value.metricName?.endsWith('_count'))?.value ?? 1;

  await kafka.stop();
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  const heapSamples: number[] = [];
  const down = await paced(publisher, UP_SECONDS * RATE_PER_SECOND, OUTAGE_SECONDS, (second) => {
    if (second % 5 === 0) heapSamples.push(process.memoryUsage().heapUsed);
  });
  collectGarbage();
  const heapAfter = process.memoryUsage().heapUsed;
  const rssAfter = process.memoryUsage().rss;
  const backlog = publisher.queued;
  const spoolBytes = (await registry.getSingleMetric('infermesh_events_spool_bytes')?.get())?.values[0]?.value ?? 0;

  const total = (UP_SECONDS + OUTAGE_SECONDS) * RATE_PER_SECOND;
  await kafka.start();
  const drainStarted = performance.now();
  await eventually('the backlog drained', () => publisher.queued === 0, DRAIN_TIMEOUT_MS);
  const drainSeconds = (performance.now() - drainStarted) / 1000;

  const seen = new Uint8Array(total);
  let distinct = 0;
  let checked = 0;
  await consumeUntil(kafka.brokers, [`${prefix}predictions`], (events) => {
    for (; checked < events.length; checked += 1) {
      const index = Number((events[checked]?.envelope.data as { predictionId: string }).predictionId.slice(-12));
      if (seen[index] === 0) distinct += 1;
      seen[index] = 1;
    }
    // Counting is enough here: empty the helper's list as we go, so 80,000 envelopes are not kept.
    events.length = 0;
    checked = 0;
    return distinct >= total;
  }, DRAIN_TIMEOUT_MS);

  t.diagnostic(`publish() with Kafka up: ${summary(up)}; append→ack mean ${((ackSum / ackCount) * 1000).toFixed(1)} ms`);
  t.diagnostic(`publish() with Kafka down: ${summary(down)}`);
  t.diagnostic(`outage: ${backlog} events (${(spoolBytes / 1024 ** 2).toFixed(1)} MiB) spooled; heap after GC ${(heapBefore / 1024 ** 2).toFixed(1)} → ${(heapAfter / 1024 ** 2).toFixed(1)} MiB (samples ${heapSamples.map((bytes) => (bytes / 1024 ** 2).toFixed(0)).join(', ')}), rss ${(rssBefore / 1024 ** 2).toFixed(0)} → ${(rssAfter / 1024 ** 2).toFixed(0)} MiB`);
  t.diagnostic(`backlog drained to Kafka after the restart (incl. reconnect) at ${(backlog / drainSeconds).toFixed(0)} events/s`);

  assert.equal(distinct, total, 'every event arrived');
  assert.ok(backlog >= OUTAGE_SECONDS * RATE_PER_SECOND * 0.9, `the outage events waited in the spool (${backlog})`);
  assert.ok(heapAfter - heapBefore < MAX_HEAP_GROWTH_BYTES, `heap grew ${((heapAfter - heapBefore) / 1024 ** 2).toFixed(1)} MiB while ${(spoolBytes / 1024 ** 2).toFixed(1)} MiB were spooled`);
});
