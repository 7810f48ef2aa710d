import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { collectProcessMetrics, createEventPublisher, InfermeshError, ModelRegistry, openRegistryStore, type EventPublisher, type Logger } from '@infermesh/shared';
import type { Registry } from 'prom-client';
import { HistoryWriter, RecordStore, type ExperimentRecord } from '@infermesh/experiments';
import { parseFeedbackKeys, type GatewayConfig } from './config/gateway-options.js';
import { recordSourceOf } from './config/record-source-of.js';
import { InProcessAggregator } from './experiments/aggregation/in-process-aggregator.js';
import { observedEventPublisher } from './experiments/aggregation/observed-event-publisher.js';
import { HistoryReader } from './experiments/history/history-reader.js';
import { KvRecordWatcher } from './experiments/records/kv-record-watcher.js';
import { RecordMetrics } from './experiments/records/record-metrics.js';
import { ShadowMetrics } from './experiments/shadow/shadow-metrics.js';
import { ShadowRunner } from './experiments/shadow/shadow-runner.js';
import { FeedbackTokenSigner } from './feedback/feedback-token-signer.js';
import { RewardDeduplicator } from './feedback/reward-deduplicator.js';
import { Enrichment } from './enrichment/enrichment.js';
import { LocalRecordsGuard } from './local-records/local-records-guard.js';
import { EnrichmentMetrics } from './enrichment/enrichment-metrics.js';
import { DashboardAssets } from './dashboard/dashboard-assets.js';
import { ExperimentStreams } from './dashboard/experiment-streams.js';
import { createApp, type AppDependencies } from './http/create-app.js';
import { describeExperiment } from './http/experiment-routes.js';
import { findModel } from './http/find-model.js';
import { createPredictFastLane } from './http/predict-fast-lane.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { ModelCatalog } from './models/model-catalog.js';
import { createServedModelFactory } from './models/served-model-factory.js';
import { BatchMetrics } from './batching/batch-metrics.js';
import { SharedPools } from './models/shared-pools.js';
import { createEndpointSource } from './pools/create-endpoint-source.js';
import { PoolMetrics } from './pools/pool-metrics.js';
import { WorkerPool } from './pools/worker-pool.js';

/** What a gateway is built from besides its config. */
export interface GatewayDependencies {
  logger: Logger;
  registry: Registry;
  serverVersion: string;
  fetch?: typeof fetch;
  /** Wall-clock milliseconds since the epoch (Date.now unless given): token expiry, stickiness windows, deadlines. */
  now?: () => number;
  /** Monotonic milliseconds (performance.now unless given): request and call durations. */
  elapsed?: () => number;
  random?: () => number;
  /** Milliseconds a registry/catalog blocking query waits (tests shorten it). */
  watchWaitMs?: number;
  /** Where business events go; built from the config (Kafka behind a spool, or NDJSON files) unless given. */
  events?: EventPublisher;
}

/** A running gateway. */
export interface Gateway {
  port: number;
  /** Resolves once model configs were read. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds and starts the gateway: model catalog (file or Consul), pools, enrichment, HTTP server.
 * Everything the config can get wrong is checked before anything starts; if starting fails
 * part-way, what did start is stopped again before the error is thrown.
 */
export async function createGateway(config: GatewayConfig, dependencies: GatewayDependencies): Promise<Gateway> {
  const { logger, registry } = dependencies;
  const now = dependencies.now ?? Date.now;
  const elapsed = dependencies.elapsed ?? (() => performance.now());
  const random = dependencies.random ?? Math.random;
  const doSleep = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });
  const watchWait = dependencies.watchWaitMs === undefined ? {} : { waitMs: dependencies.watchWaitMs };

  const feedbackKeys = config.feedbackKeys === undefined ? undefined : parseFeedbackKeys(config.feedbackKeys);
  if (feedbackKeys === undefined) logger.warn('no --feedback-keys: feedback tokens use a random key and only this gateway process accepts them');
  const feedbackTokens = new FeedbackTokenSigner({
    keys: feedbackKeys ?? [{ id: 'local', secret: randomBytes(32) }],
    ttlMs: config.feedbackTtlSeconds * 1000,
    now,
  });

  collectProcessMetrics(registry);
  const metrics = new GatewayMetrics(registry);
  const poolMetrics = new PoolMetrics(registry);
  const enrichmentMetrics = new EnrichmentMetrics(registry);
  const { kv, consul } = openRegistryStore(config);

  // Local: this process counts and publishes records for itself. Registry: the aggregator
  // service publishes for every replica, and this process only reads (its own counts never steer).
  const recordSource = recordSourceOf(config);
  const local = recordSource === 'local';
  const pools = new SharedPools((name, workerModel, pool) =>
    new WorkerPool(name, createEndpointSource(workerModel, pool, { consul, logger, random, sleep: doSleep, ...watchWait }), { metrics: poolMetrics, logger: logger.child({ module: 'worker-pool', pool: name }), random, now, elapsed }),
  );
  const models = createServedModelFactory({
    pools,
    batchMetrics: new BatchMetrics(registry),
    elapsed,
    createEnrichment: (modelConfig) => new Enrichment(modelConfig.enrichers, { fetch: dependencies.fetch ?? fetch, now, metrics: enrichmentMetrics, logger: logger.child({ module: 'enrichment' }) }),
  });
  const catalog = new ModelCatalog({
    kv,
    build: models.build,
    retire: models.retire,
    // A new or changed experiment gets its record at once, not at the next interval.
    onChange: () => {
      if (local) aggregator.publishAll();
      guard?.catalogChanged();
      history.retain(new Set(catalog.all().map((model) => model.name)));
      streams.changedAll();
    },
    metrics,
    logger: logger.child({ module: 'model-catalog' }),
    random,
    sleep: doSleep,
    ...watchWait,
  });

  const publisher = dependencies.events ?? createEventPublisher(config, { logger: logger.child({ module: 'events' }), registry, source: `urn:infermesh:gateway:${hostname()}:${process.pid}`, now, random });
  // A spool another process holds, an unwritable directory: refused before anything else starts.
  await publisher.start();

  const records = new RecordStore();
  // Dashboards follow the record and the experiment config as this replica holds them.
  const streams = new ExperimentStreams({ describe: (model) => describeExperiment(findModel(catalog, model), { records, catalog, now }), logger: logger.child({ module: 'experiment-streams' }) });
  records.subscribe((model) => streams.changed(model));
  const recordMetrics = new RecordMetrics(registry, records, now);
  const aggregator = new InProcessAggregator({
    experiments: () => catalog.all().flatMap((model) => (model.experiment === undefined ? [] : [{ model: model.name, experiment: model.experiment }])),
    store: records,
    now,
    logger: logger.child({ module: 'in-process-aggregator' }),
    intervalMs: config.recordIntervalMs,
    // The embedded mesh keeps its history in the file registry. On Consul, replicas on local
    // records each run their own experiment: one shared history would interleave them.
    ...(consul === undefined ? { history: new HistoryWriter({ kv, logger: logger.child({ module: 'history' }) }) } : {}),
    onFailure: (model) => recordMetrics.rejections.inc({ model }),
    // A conclusion promotes through the registry the workers follow (the file registry in the embedded mesh).
    registry: new ModelRegistry(kv),
    lifecycle: publisher,
  });
  // Local records: signs of another replica (a published record, feedback for a prediction served
  // elsewhere) are logged, since replicas on local records each run their own experiment.
  const guard = local
    ? new LocalRecordsGuard({ logger: logger.child({ module: 'local-records' }), now, routesLocally: (model) => catalog.get(model)?.experiment !== undefined })
    : undefined;
  const watcherOptions = { kv, logger: logger.child({ module: 'record-watcher' }), random, sleep: doSleep, ...watchWait };
  let recordWatcher: KvRecordWatcher | undefined;
  if (!local) recordWatcher = new KvRecordWatcher({ ...watcherOptions, store: records, onRejected: (model) => recordMetrics.rejections.inc({ model }) });
  else if (guard !== undefined && consul !== undefined) {
    const published = {
      put: (record: ExperimentRecord) => {
        guard.recordPublished(record.model);
        return false;
      },
      get: () => undefined,
    };
    recordWatcher = new KvRecordWatcher({ ...watcherOptions, store: published, onRejected: () => undefined });
  }

  // Local records: the aggregator in this process reads the events as they are published.
  // Registry records: the aggregator service reads them from Kafka; this process counts nothing.
  const events = local
    ? observedEventPublisher(publisher, (event) => {
        aggregator.observe(event);
        guard?.observe(event);
      })
    : publisher;

  const history = new HistoryReader({ kv, logger: logger.child({ module: 'history-reader' }), now });
  let accepting = false;
  const appDependencies: AppDependencies = {
    catalog,
    metrics,
    registry,
    logger,
    now,
    elapsed,
    random,
    records,
    events,
    newPredictionId: randomUUID,
    feedbackTokens,
    rewards: new RewardDeduplicator({ now }),
    shadows: new ShadowRunner({ metrics: new ShadowMetrics(registry), logger: logger.child({ module: 'shadow-runner' }), random, events, elapsed }),
    kv,
    history,
    adminToken: config.adminToken,
    streams,
    dashboardAssets: new DashboardAssets(),
    maxBodyBytes: config.maxBodyBytes,
    serverVersion: dependencies.serverVersion,
    isAccepting: () => accepting,
  };
  const app = createApp(appDependencies);
  const fastLane = createPredictFastLane(appDependencies);

  const release = async () => {
    streams.stop();
    aggregator.stop();
    await recordWatcher?.stop();
    await catalog.stop();
    await pools.closeAll();
    // Last: what the requests answered before the shutdown published is flushed or stays spooled.
    await publisher.stop();
  };
  catalog.start();
  if (local) aggregator.start();
  recordWatcher?.start();
  let server: Server;
  try {
    // Not app.listen: express 5 calls its callback on an error too, as if it were listening.
    server = createServer((request, response) => {
      if (!fastLane(request, response)) void app(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await release();
    throw new InfermeshError('INVALID_CONFIG', `cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`, { cause: error });
  }
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, registry: kv.description, records: recordSource }, 'gateway listening');
  const ready = catalog.ready.then(() => {
    accepting = true;
    logger.info({ models: catalog.all().map((model) => model.name) }, 'gateway ready');
  });

  let stopping: Promise<void> | undefined;
  return {
    port,
    ready,
    stop: () =>
      (stopping ??= (async () => {
        accepting = false;
        // Open dashboard streams never end by themselves: ended first, they do not hold the close up.
        streams.stop();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.closeAllConnections();
            resolve();
          }, config.shutdownGraceMs);
          timer.unref();
          server.close(() => {
            clearTimeout(timer);
            resolve();
          });
          server.closeIdleConnections();
        });
        await release();
        logger.info('gateway stopped');
      })()),
  };
}
