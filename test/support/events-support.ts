import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { createKafkaEventSink, SpooledEventPublisher, type EventEnvelope, type EventInput, type SpooledEventPublisherOptions } from '@infermesh/shared';
import { removeAtExit } from '../infra/managed-process.js';

/** A fresh directory under the system's temporary one, removed when the test process exits. */
export function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  removeAtExit(dir);
  return dir;
}

/** One Kafka record as an independent consumer sees it. */
export interface ConsumedEvent {
  envelope: EventEnvelope;
  topic: string;
  key: string | undefined;
  headers: Record<string, string>;
}

/** A `prediction.served` event with a fresh prediction id; `index` goes into the request id. */
export function servedEvent(index: number, predictionId: string = randomUUID()): EventInput {
  return {
    type: 'infermesh.prediction.served',
    subject: `user-${index % 97}`,
    data: {
      predictionId,
      requestId: `req-${index}`,
      model: 'churn',
      experiment: 'churn-ab',
      variant: index % 2 === 0 ? 'current' : 'candidate',
      version: index % 2 === 0 ? 'v1' : 'v2',
      propensity: 0.5,
      sticky: index % 3 === 0,
      latencyMs: 2.5,
      default: false,
      defaultReason: null,
      defaultedFeatures: [],
    },
  };
}

/** A logger for publishers under test: ERROR only, unless INFERMESH_TEST_EVENTS_LOG names another level. */
export function quietLogger(): Logger {
  return pino({ level: process.env.INFERMESH_TEST_EVENTS_LOG ?? 'error' });
}

/** A spooled Kafka publisher on a fresh spool directory (or `dir`), with a fresh registry. */
export function kafkaPublisher(brokers: string[], topicPrefix: string, overrides: Partial<SpooledEventPublisherOptions> & { dir?: string } = {}) {
  const logger = overrides.logger ?? quietLogger();
  const dir = overrides.dir ?? join(temporaryDir('events-spool-'), 'spool');
  const registry = overrides.registry ?? new Registry();
  const sink = createKafkaEventSink({ connection: { brokers, clientId: 'infermesh-test' }, topicPrefix, createTopics: { predictions: 3, feedback: 1, lifecycle: 1 }, logger });
  const publisher = new SpooledEventPublisher({ source: 'urn:infermesh:gateway:test:0', logger, registry, sink, ...overrides, dir });
  return { publisher, dir, registry };
}

/**
 * Reads `topics` from the beginning with a fresh consumer group until `done(events)` holds;
 * rejects after `timeoutMs` saying how many events it had.
 */
export async function consumeUntil(brokers: string[], topics: string[], done: (events: ConsumedEvent[]) => boolean, timeoutMs: number): Promise<ConsumedEvent[]> {
  const kafka = new Kafka({ clientId: 'infermesh-test-consumer', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `test-consumer-${randomUUID()}` });
  const events: ConsumedEvent[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${events.length} events in ${timeoutMs} ms without reaching the goal`)), timeoutMs);
      consumer
        .run({
          eachMessage: async ({ topic, message }) => {
            events.push({
              envelope: JSON.parse(message.value?.toString('utf8') ?? 'null') as EventEnvelope,
              topic,
              key: message.key?.toString('utf8'),
              headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)])),
            });
            if (done(events)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    return events;
  } finally {
    await consumer.disconnect();
  }
}

/** Distinct prediction ids among `events`. */
export function distinctPredictions(events: readonly ConsumedEvent[]): Set<string> {
  return new Set(events.map((event) => (event.envelope.data as { predictionId: string }).predictionId));
}

/** A `consumeUntil` goal: `count` distinct prediction ids read (counted incrementally). */
export function atLeastDistinct(count: number): (events: ConsumedEvent[]) => boolean {
  const seen = new Set<string>();
  let checked = 0;
  return (events) => {
    for (; checked < events.length; checked += 1) seen.add((events[checked]?.envelope.data as { predictionId: string }).predictionId);
    return seen.size >= count;
  };
}
