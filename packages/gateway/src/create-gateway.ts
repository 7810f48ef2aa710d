import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsulKvStore, createConsulClient, FileKvStore, type Logger } from '@infermesh/shared';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { parseFeedbackKeys, type GatewayConfig } from './config/gateway-options.js';
import { InProcessStatistics } from './experiments/statistics/in-process-statistics.js';
import type { StatisticsSource } from './experiments/statistics/statistics-source.js';
import { ShadowMetrics, ShadowRunner } from './experiments/shadow/shadow-runner.js';
import { FeedbackTokenSigner } from './feedback/feedback-token-signer.js';
import { RewardDeduplicator } from './feedback/reward-deduplicator.js';
import { Enrichment } from './enrichment/enrichment.js';
import { EnrichmentMetrics } from './enrichment/enrichment-metrics.js';
import { createApp } from './http/create-app.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { ModelCatalog, type ModelSources } from './models/model-catalog.js';
import { SharedPools } from './models/shared-pools.js';
import { parseExperimentConfig } from './experiments/experiment-config.js';
import { parseModelConfig, type PoolConfig } from './models/model-config.js';
import { compilePredictValidator } from './models/predict-request-validator.js';
import { DEFAULT_VARIANT, type ServedModel, type ServedVariant } from './models/served-model.js';
import { ConsulEndpointSource } from './pools/consul-endpoint-source.js';
import type { EndpointSource } from './pools/endpoint-source.js';
import { PoolMetrics } from './pools/pool-metrics.js';
import { StaticEndpointSource } from './pools/static-endpoint-source.js';
import { WorkerPool } from './pools/worker-pool.js';

/** What a gateway is built from besides its config. */
export interface GatewayDependencies {
  logger: Logger;
  registry: Registry;
  serverVersion: string;
  fetch?: typeof fetch;
  now?: () => number;
  random?: () => number;
  /** Milliseconds a registry/catalog blocking query waits (tests shorten it). */
  watchWaitMs?: number;
  /** Reward statistics the experiments decide from; in-process unless given. */
  statistics?: StatisticsSource;
}

/** A running gateway. */
export interface Gateway {
  port: number;
  /** Resolves once model configs were read. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** Builds and starts the gateway: model catalog (file or Consul), pools, enrichment, HTTP server. */
export async function createGateway(config: GatewayConfig, dependencies: GatewayDependencies): Promise<Gateway> {
  const { logger, registry } = dependencies;
  const now = dependencies.now ?? (() => performance.timeOrigin + performance.now());
  const random = dependencies.random ?? Math.random;
  const doSleep = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });
  collectDefaultMetrics({ register: registry });
  const metrics = new GatewayMetrics(registry);
  const poolMetrics = new PoolMetrics(registry);
  const enrichmentMetrics = new EnrichmentMetrics(registry);
  const consul = config.consul === undefined ? undefined : createConsulClient(config.consul, config.consulToken);
  const kv = consul ? new ConsulKvStore(consul, config.kvPrefix) : new FileKvStore(config.registryDir);
  const watchWait = dependencies.watchWaitMs === undefined ? {} : { waitMs: dependencies.watchWaitMs };

  const endpointSource = (model: string, pool: PoolConfig): EndpointSource => {
    if (pool.static !== undefined) return new StaticEndpointSource(pool.static);
    if (consul === undefined) throw new Error(`model '${model}' discovers deployment '${pool.deployment}' but the gateway has no --consul`);
    return new ConsulEndpointSource(consul, { model, deployment: pool.deployment! }, { logger, random, sleep: doSleep, ...watchWait });
  };

  const pools = new SharedPools((workerModel, pool) =>
    new WorkerPool(workerModel, endpointSource(workerModel, pool), { metrics: poolMetrics, logger, random, now }),
  );
  const build = (name: string, sources: ModelSources): ServedModel => {
    const modelConfig = parseModelConfig(name, sources.config);
    const experiment = sources.experiment === undefined ? undefined : parseExperimentConfig(name, sources.experiment);
    const workerModel = modelConfig.workerModel ?? name;
    const variantConfigs = experiment?.variants ?? [{ name: DEFAULT_VARIANT, pool: modelConfig.pool, enabled: true, role: 'live' as const }];
    const enrichment = new Enrichment(modelConfig.enrichers, { fetch: dependencies.fetch ?? fetch, now, metrics: enrichmentMetrics, logger });
    const variants: ServedVariant[] = variantConfigs.map((variant) => ({ name: variant.name, config: variant, pool: pools.acquire(workerModel, variant.pool) }));
    return {
      name,
      config: modelConfig,
      ...(experiment ? { experiment } : {}),
      source: JSON.stringify(sources),
      validate: compilePredictValidator(name, modelConfig),
      enrichment,
      variants,
    };
  };
  const retire = (model: ServedModel) => {
    for (const variant of model.variants) pools.release(variant.pool);
  };
  const catalog = new ModelCatalog({ kv, build, retire, metrics, logger, random, sleep: doSleep, ...watchWait });
  catalog.start();

  const feedbackKeys = config.feedbackKeys === undefined ? undefined : parseFeedbackKeys(config.feedbackKeys);
  if (feedbackKeys === undefined) logger.warn('no --feedback-keys: feedback tokens use a random key and only this gateway process accepts them');
  const feedbackTokens = new FeedbackTokenSigner({
    keys: feedbackKeys ?? [{ id: 'local', secret: randomBytes(32) }],
    ttlMs: config.feedbackTtlSeconds * 1000,
    now,
  });
  let accepting = false;
  const app = createApp({
    catalog,
    metrics,
    registry,
    logger,
    now,
    random,
    statistics: dependencies.statistics ?? new InProcessStatistics({ now }),
    feedbackTokens,
    rewards: new RewardDeduplicator({ now }),
    shadows: new ShadowRunner({ metrics: new ShadowMetrics(registry), logger, random }),
    kv,
    adminToken: config.adminToken,
    maxBodyBytes: config.maxBodyBytes,
    serverVersion: dependencies.serverVersion,
    isAccepting: () => accepting,
  });
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(config.port, config.host, () => resolve(listening));
    listening.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, registry: kv.description }, 'gateway listening');
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
        await catalog.stop();
        await pools.closeAll();
        logger.info('gateway stopped');
      })()),
  };
}
