import { randomUUID } from 'node:crypto';
import { ConsulKvStore, createConsulClient, createEnvelope, KafkaEventSink, spooledEventOf, type EventEnvelope, type EventInput } from '@infermesh/shared';
import { parseExperimentRecord, type ExperimentRecord } from '@infermesh/experiments';
import { testConsul, testKafka } from '../infra/test-infra.js';
import { consumeUntil, quietLogger, type ConsumedEvent } from './events-support.js';

/** The model whose experiment the aggregator tests publish records for. */
export const MODEL = 'churn';
/** Variants in the experiment; `legacy` also receives events but is no longer in it. */
export const VARIANTS = ['current', 'candidate'] as const;
const EXPERIMENT = {
  entityKey: 'userId',
  policy: { type: 'thompson', reward: 'binary', minShare: 0.05, minTrials: 50 },
  variants: VARIANTS.map((name) => ({ name, pool: { static: ['127.0.0.1:1'] } })),
};
/** Partitions of the topics the tests create: enough for two instances to share. */
const PARTITIONS = { predictions: 4, feedback: 3, lifecycle: 1 };

/** Evidence per variant, as a record reports it. */
export type Evidence = Record<string, { trials: number; rewardSum: number; rewardSumSquares: number }>;

/**
 * Kafka topics, a KV prefix and a consumer group of one test's own, an experiment in KV, and a
 * sink to send events with; on the shared Kafka and Consul unless a test brings its own.
 */
export async function aggregatorTestSetup(name: string, own: { brokers?: string[]; consulAddr?: string } = {}) {
  const [shared, sharedConsul] = await Promise.all([testKafka(), testConsul()]);
  const { topic } = shared;
  const brokers = own.brokers ?? shared.brokers;
  const consul = own.consulAddr === undefined ? sharedConsul : { httpAddr: own.consulAddr, prefix: sharedConsul.prefix };
  const topicPrefix = `${topic(name)}.`;
  const kv = new ConsulKvStore(createConsulClient(consul.httpAddr), consul.prefix);
  await kv.compareAndSet(`experiments/${MODEL}`, JSON.stringify(EXPERIMENT), 0);
  const kafka = new KafkaEventSink({ connection: { brokers, clientId: 'aggregator-test' }, topicPrefix, createTopics: PARTITIONS, logger: quietLogger(), random: Math.random });
  await kafka.start();
  // Envelopes as a gateway's spool would hand them over.
  const sink = { send: (batch: readonly EventEnvelope[]) => kafka.send(batch.map(spooledEventOf)), stop: () => kafka.stop() };
  const args = ['--consul', consul.httpAddr, '--kv-prefix', consul.prefix, '--kafka-brokers', brokers.join(','), '--events-topic-prefix', topicPrefix, '--group-id', `aggregator-${topic(name)}`];
  return { brokers, topics: [`${topicPrefix}predictions`, `${topicPrefix}feedback`], kv, sink, args };
}

/** A small deterministic PRNG (mulberry32): the same seed writes the same script. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Batches of envelopes as gateways would send them: predictions (most of them trials; some
 * defaults, unrewardable ones, shadows and predictions of a model without an experiment),
 * feedback for a share of them a few batches later, the same token redeemed again on a second
 * replica for some (with the opposite reward: only the first may count), and some batches sent
 * twice with the same event ids, as a crashed gateway's spool does.
 */
export function eventScript(predictions: number, seed: number): EventEnvelope[][] {
  const random = seeded(seed);
  const start = Date.now();
  let clock = 0;
  const envelope = (event: EventInput, source = 'urn:infermesh:gateway:gw-1:8080') => createEnvelope(event, { source, id: randomUUID(), timeMs: start + (clock += 1) });
  const batches: EventEnvelope[][] = [];
  const later = new Map<number, EventEnvelope[]>();
  const schedule = (at: number, event: EventEnvelope) => later.set(at, [...(later.get(at) ?? []), event]);
  const batchSize = 100;
  for (let first = 0; first < predictions; first += batchSize) {
    const index = batches.length;
    const batch: EventEnvelope[] = [...(later.get(index) ?? [])];
    for (let number = first; number < Math.min(predictions, first + batchSize); number += 1) {
      const entity = `user-${Math.floor(random() * 60)}`;
      const roll = random();
      const variant = random() < 0.03 ? 'legacy' : random() < 0.5 ? 'current' : 'candidate';
      const data = {
        predictionId: randomUUID(), requestId: `req-${number}`, model: MODEL, experiment: MODEL, variant, version: 'v1', propensity: 0.5, sticky: true,
        latencyMs: 1, default: false, defaultReason: null, defaultedFeatures: [], rewardable: true,
      };
      if (roll < 0.05) batch.push(envelope({ type: 'infermesh.prediction.served', subject: entity, data: { ...data, default: true, version: null, defaultReason: 'DEADLINE_EXCEEDED' } }));
      else if (roll < 0.1) batch.push(envelope({ type: 'infermesh.prediction.served', subject: entity, data: { ...data, rewardable: false } }));
      else if (roll < 0.12) batch.push(envelope({ type: 'infermesh.prediction.served', subject: entity, data: { ...data, model: 'plain', experiment: null } }));
      else {
        batch.push(envelope({ type: 'infermesh.prediction.served', subject: entity, data }));
        if (random() < 0.03) {
          batch.push(envelope({ type: 'infermesh.prediction.shadow', subject: entity, data: { predictionId: data.predictionId, requestId: data.requestId, model: MODEL, liveVariant: variant, liveVersion: 'v1', shadowVariant: 'next', shadowVersion: 'v2', outcome: 'failed', maxAbsDiff: null, argmaxAgreement: null, shadowLatencyMs: null, errorCode: 'INTERNAL' } }));
        }
        if (random() < 0.4) {
          const reward = random() < (variant === 'candidate' ? 0.3 : 0.1) ? 1 : 0;
          const feedback = (value: number, source?: string) =>
            envelope({ type: 'infermesh.feedback.received', subject: entity, data: { predictionId: data.predictionId, model: MODEL, variant, version: 'v1', reward: value, delayMs: 5, requestId: `fb-${number}` } }, source);
          const at = index + 1 + Math.floor(random() * 3);
          schedule(at, feedback(reward));
          if (random() < 0.12) schedule(at + 1 + Math.floor(random() * 2), feedback(1 - reward, 'urn:infermesh:gateway:gw-2:8080'));
        }
      }
    }
    batches.push(batch);
  }
  for (const [at, events] of [...later].sort(([a], [b]) => a - b)) if (at >= batches.length) batches.push(events);
  // Resends: the same envelopes (same ids) again, a couple of batches after the original.
  const sends: EventEnvelope[][] = [];
  const resends = new Map<number, EventEnvelope[][]>();
  batches.forEach((batch, index) => {
    sends.push(batch, ...(resends.get(index) ?? []));
    if (random() < 0.1) resends.set(index + 2, [...(resends.get(index + 2) ?? []), batch]);
  });
  for (const [at, extra] of resends) if (at >= batches.length) sends.push(...extra);
  return sends;
}

/**
 * Reads both topics from the beginning (an independent consumer) until `messages` were read and
 * counts what an exact aggregator must publish: distinct rewardable predictions of the experiment
 * per variant, and per prediction only the first reward in its partition.
 */
export async function recountTopics(brokers: string[], topics: string[], messages: number): Promise<Evidence> {
  const events = await consumeUntil(brokers, topics, (read) => read.length >= messages, 120_000);
  return recount(events);
}

function recount(events: readonly ConsumedEvent[]): Evidence {
  const result: Evidence = {};
  const trials = new Set<string>();
  const rewarded = new Set<string>();
  const entry = (variant: string) => (result[variant] ??= { trials: 0, rewardSum: 0, rewardSumSquares: 0 });
  for (const { envelope } of events) {
    const data = envelope.data as unknown as Record<string, unknown>;
    if (data.model !== MODEL) continue;
    const id = data.predictionId as string;
    if (envelope.type === 'infermesh.prediction.served' && data.experiment !== null && data.default !== true && data.rewardable !== false && !trials.has(id)) {
      trials.add(id);
      entry(data.variant as string).trials += 1;
    }
    if (envelope.type === 'infermesh.feedback.received' && !rewarded.has(id)) {
      rewarded.add(id);
      const reward = data.reward as number;
      entry(data.variant as string).rewardSum += reward;
      entry(data.variant as string).rewardSumSquares += reward * reward;
    }
  }
  return result;
}

/** The record published for the test model, parsed as a gateway parses it; undefined before the first. */
export async function publishedRecord(kv: ConsulKvStore): Promise<ExperimentRecord | undefined> {
  const entry = await kv.get(`stats/${MODEL}`);
  return entry === undefined ? undefined : parseExperimentRecord(MODEL, entry.value);
}

/** The evidence a record reports, in the recount's shape (variants without evidence left out). */
export function evidenceOf(record: ExperimentRecord | undefined): Evidence {
  const result: Evidence = {};
  for (const [name, { trials, rewardSum, rewardSumSquares }] of Object.entries(record?.variants ?? {})) {
    if (trials !== 0 || rewardSum !== 0 || rewardSumSquares !== 0) result[name] = { trials, rewardSum, rewardSumSquares };
  }
  return result;
}

/** One sample of a Prometheus metric at `/metrics` (summed over series matching `labels`). */
export async function metricValue(metricsPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const series = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => series.includes(`${key}="${value}"`))) sum += Number(match[3]);
  }
  return sum;
}
