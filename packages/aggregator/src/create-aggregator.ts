import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectProcessMetrics, createEventPublisher, DEFAULT_EVENTS_DIR, DEFAULT_TOPIC_PARTITIONS, EVENT_TYPE, InfermeshError, kafkaClientConfig, ModelRegistry, openRegistryStore, topicFor, type Logger } from '@infermesh/shared';
import { HistoryWriter } from '@infermesh/experiments';
import { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { checkAggregatorConfig, type AggregatorConfig } from './config/aggregator-options.js';
import { AggregatorConsumer } from './consumer/aggregator-consumer.js';
import { KafkaPartitionOffsets } from './consumer/kafka-partition-offsets.js';
import { PartitionOwnership } from './consumer/partition-ownership.js';
import { OutageReporter } from './health/outage-reporter.js';
import { startAggregatorHttpServer, type AggregatorHttpServer } from './http/aggregator-http-server.js';
import { AggregatorMetrics } from './metrics/aggregator-metrics.js';
import { ExperimentWatcher } from './records/experiment-watcher.js';
import { RecordPublisher } from './records/record-publisher.js';
import { PeriodicTask } from './schedule/periodic-task.js';
import { PartitionStateStore } from './state/partition-state-store.js';
import { PartitionTally } from './tally/partition-tally.js';

/** What an aggregator is built from besides its config. */
export interface AggregatorDependencies {
  logger: Logger;
  registry: Registry;
  /** Milliseconds since the epoch (Date.now unless given): record times and outage durations. */
  now?: () => number;
  random?: () => number;
  /** Milliseconds a KV blocking query waits (tests shorten it). */
  watchWaitMs?: number;
}

/** A running aggregator. */
export interface Aggregator {
  /** Port of `/metrics` and `/healthz`. */
  metricsPort: number;
  /** Resolves once the experiments were read and the consumer group assigned partitions. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds and starts the aggregator: the experiments watch, the consumer group over the
 * prediction and feedback topics, the partition states in KV, and the round that every
 * `--publish-interval-ms` stores the owned partitions' states and publishes every experiment's
 * record. The config is checked before anything starts.
 */
export async function createAggregator(config: AggregatorConfig, dependencies: AggregatorDependencies): Promise<Aggregator> {
  const connection = checkAggregatorConfig(config);
  const { logger, registry } = dependencies;
  const now = dependencies.now ?? Date.now;
  const random = dependencies.random ?? Math.random;
  const doSleep = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal, ref: false });
  const topics = [topicFor(EVENT_TYPE.predictionServed, config.eventsTopicPrefix), topicFor(EVENT_TYPE.feedbackReceived, config.eventsTopicPrefix)];
  const instance = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  collectProcessMetrics(registry);
  const { kv } = openRegistryStore(config);
  const experiments = new ExperimentWatcher({ kv, logger: logger.child({ module: 'experiment-watcher' }), random, sleep: doSleep, ...(dependencies.watchWaitMs === undefined ? {} : { waitMs: dependencies.watchWaitMs }) });
  const discountFor = (model: string) => experiments.discountFor(model);
  const states = new PartitionStateStore(kv, config.groupId, instance, now);
  const kafka = new Kafka(kafkaClientConfig(connection, logger.child({ module: 'kafka' })));
  const offsets = new KafkaPartitionOffsets(kafka);

  // Late-bound: the metrics read the ownership and publisher at scrape time, both need the metrics.
  let ownership: PartitionOwnership | undefined;
  let publisher: RecordPublisher | undefined;
  const metrics = new AggregatorMetrics(
    registry,
    {
      records: { generatedAt: () => publisher?.generatedAt() ?? new Map() },
      rememberedIds: () => (ownership?.tallies() ?? []).reduce((sum, tally) => ({ trial: sum.trial + tally.remembered().trial, reward: sum.reward + tally.remembered().reward }), { trial: 0, reward: 0 }),
    },
    now,
  );
  const outage = (what: string, upstream: 'kafka' | 'consul' | undefined, module: string) =>
    new OutageReporter({ what, logger: logger.child({ module }), now, ...(upstream ? { onChange: (up: boolean) => metrics.upstreamUp.set({ upstream }, up ? 1 : 0) } : {}) });
  const consulOutage = outage('Consul', 'consul', 'records');
  const kafkaOutage = outage('Kafka', 'kafka', 'consumer');
  const loadOutage = outage('partition state or offsets (Consul, Kafka)', undefined, 'partitions');

  const windowMs = { trial: config.trialDedupeSeconds * 1000, reward: config.feedbackTtlSeconds * 1000 };
  const owned = new PartitionOwnership({
    store: states,
    offsets,
    createTally: (topic, partition, snapshot) => new PartitionTally({ topic, partition, snapshot, windowMs, maxIds: config.dedupeMaxIds, discountFor, onEvicted: (kind) => metrics.dedupeEvictions.inc({ kind }) }),
    logger: logger.child({ module: 'partitions' }),
    onWrite: (outcome) => metrics.stateWrites.inc({ outcome }),
    onReleased: (topic, partition) => metrics.partitionLag.remove({ topic, partition: String(partition) }),
  });
  ownership = owned;
  const consumer = new AggregatorConsumer({ kafka, groupId: config.groupId, topics, ownership: owned, offsets, metrics, kafkaOutage, loadOutage, logger: logger.child({ module: 'consumer' }), random, sleep: doSleep });
  const history = new HistoryWriter({ kv, logger: logger.child({ module: 'history' }) });
  // Lifecycle events (conclusions, guardrail trips) go through a spool: a Kafka outage loses none.
  const lifecycle = createEventPublisher(
    { ...config, eventsDir: DEFAULT_EVENTS_DIR, eventsPredictionsPartitions: DEFAULT_TOPIC_PARTITIONS.predictions, eventsFeedbackPartitions: DEFAULT_TOPIC_PARTITIONS.feedback },
    { logger: logger.child({ module: 'events' }), registry, source: `urn:infermesh:aggregator:${instance}`, now, random },
  );
  try {
    await lifecycle.start();
  } catch (error) {
    throw new InfermeshError('INVALID_CONFIG', `cannot open the lifecycle event spool: ${(error as Error).message}`, { cause: error });
  }
  const records = new RecordPublisher({ kv, states, topics, experiments, metrics, logger: logger.child({ module: 'records' }), now, registry: new ModelRegistry(kv), events: lifecycle, history });
  publisher = records;

  // One round: store what the owned partitions counted, commit those offsets, publish every
  // record. Records are published even when a state write failed: they sum what is stored, so
  // they stay exact, and each failed publication is counted. Consul is judged on the whole round,
  // so reads that work while writes fail do not flap.
  const round = async () => {
    const { written, failure } = await owned.flush();
    await consumer.commit(written);
    const publishFailure = await records.publishAll();
    const error = failure ?? publishFailure;
    if (error === undefined) consulOutage.succeeded();
    else consulOutage.failed(error);
  };
  const rounds = new PeriodicTask('publish', config.publishIntervalMs, round, logger.child({ module: 'periodic-task' }));

  let serving = true;
  let http: AggregatorHttpServer;
  try {
    http = await startAggregatorHttpServer(
      registry,
      { get serving() { return serving; }, details: () => ({ partitionsOwned: owned.count(), kafka: !kafkaOutage.down, consul: !consulOutage.down }) },
      config.metricsHost,
      config.metricsPort,
    );
  } catch (error) {
    throw new InfermeshError('INVALID_CONFIG', `cannot listen on ${config.metricsHost}:${config.metricsPort}: ${(error as Error).message}`, { cause: error });
  }
  experiments.start();
  rounds.start();
  // The discount of each model must be known before its first event is counted.
  void experiments.ready.then(() => {
    if (serving) consumer.start();
  });
  logger.info({ port: http.port, metricsPort: http.port, topics, groupId: config.groupId, registry: kv.description }, 'aggregator listening');
  const ready = experiments.ready
    .then(() => consumer.joined)
    .then(() => logger.info({ partitions: owned.count() }, 'aggregator ready'));

  let stopping: Promise<void> | undefined;
  return {
    metricsPort: http.port,
    ready,
    stop: () =>
      (stopping ??= (async () => {
        serving = false;
        await rounds.stop();
        // What is counted now is stored and published once more while this instance still owns its partitions.
        await consumer.halt();
        const grace = sleep(config.shutdownGraceMs, undefined, { ref: false });
        await Promise.race([round(), grace]);
        // Leaving the group lets the others take the partitions at once; with Kafka away it may not finish.
        await Promise.race([consumer.stop(), grace]);
        await offsets.close();
        await lifecycle.stop();
        await experiments.stop();
        await http.close();
        logger.info('aggregator stopped');
      })()),
  };
}
