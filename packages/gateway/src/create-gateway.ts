import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsulKvStore, createConsulClient, FileKvStore, type Logger } from '@infermesh/shared';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { GatewayConfig } from './config/gateway-options.js';
import { Enrichment } from './enrichment/enrichment.js';
import { EnrichmentMetrics } from './enrichment/enrichment-metrics.js';
import { createApp } from './http/create-app.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { ModelCatalog, RETIRED_POOL_GRACE_MS } from './models/model-catalog.js';
import { parseModelConfig, type PoolConfig } from './models/model-config.js';
import { compilePredictValidator } from './models/predict-request-validator.js';
import type { ServedModel } from './models/served-model.js';
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

  const build = (name: string, source: string, previous: ServedModel | undefined): ServedModel => {
    const modelConfig = parseModelConfig(name, source);
    const workerModel = modelConfig.workerModel ?? name;
    const samePool = previous !== undefined && JSON.stringify(previous.config.pool) === JSON.stringify(modelConfig.pool) && (previous.config.workerModel ?? previous.name) === workerModel;
    let pool = previous?.pool;
    if (!samePool || pool === undefined) {
      pool = new WorkerPool(`${name}`, endpointSource(workerModel, modelConfig.pool), { metrics: poolMetrics, logger, random, now });
      pool.start();
    }
    return {
      name,
      config: modelConfig,
      source,
      validate: compilePredictValidator(name, modelConfig),
      enrichment: new Enrichment(modelConfig.enrichers, { fetch: dependencies.fetch ?? fetch, now, metrics: enrichmentMetrics, logger }),
      pool,
    };
  };
  const retire = async (model: ServedModel, replacement: ServedModel | undefined) => {
    if (replacement?.pool === model.pool) return;
    // Calls already on the old pool keep running; close it once they are surely done.
    if (replacement !== undefined) await sleep(RETIRED_POOL_GRACE_MS, undefined, { ref: false });
    await model.pool.close();
  };
  const catalog = new ModelCatalog({ kv, build, retire, metrics, logger, random, sleep: doSleep, ...watchWait });
  catalog.start();

  let accepting = false;
  const app = createApp({ catalog, metrics, registry, logger, now, maxBodyBytes: config.maxBodyBytes, serverVersion: dependencies.serverVersion, isAccepting: () => accepting });
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
        logger.info('gateway stopped');
      })()),
  };
}
