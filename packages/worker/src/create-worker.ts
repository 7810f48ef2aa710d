import { Server, ServerCredentials } from '@grpc/grpc-js';
import {
  collectProcessMetrics,
  createEventPublisher,
  INFERENCE_HEALTH_SERVICE,
  InfermeshError,
  loadInferenceProto,
  ModelRegistry,
  openRegistryStore,
  startMetricsServer,
  type EventPublisher,
  type Logger,
  type MetricsServer,
} from '@infermesh/shared';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { ArtifactCache } from './artifacts/artifact-cache.js';
import { DynamicBatcher } from './batching/dynamic-batcher.js';
import { versionSource, type WorkerConfig } from './config/worker-options.js';
import { ConsulServiceRegistration } from './discovery/consul-service-registration.js';
import { createInferenceService } from './grpc/inference-service.js';
import { WorkerHealth } from './grpc/worker-health.js';
import { WorkerMetrics } from './metrics/worker-metrics.js';
import { DeploymentFollower } from './reload/deployment-follower.js';
import { ModelLoader } from './reload/model-loader.js';
import { ModelSlot } from './reload/model-slot.js';
import { loadModelRuntime } from './runtime/load-model-runtime.js';
import type { LoadedModel } from './runtime/loaded-model.js';

/** What a worker is built from besides its config. */
export interface WorkerDependencies {
  logger: Logger;
  registry: Registry;
  /** Reported by ServerMetadata. */
  serverVersion: string;
  /** Loads a verified artifact; the real loader unless a test gates it. */
  loadRuntime?: typeof loadModelRuntime;
  /** Backoff jitter source, uniform in [0, 1). */
  random?: () => number;
  /** Milliseconds a registry blocking query waits (tests shorten it). */
  registryWaitMs?: number;
  /** Where lifecycle events go; built from the config (Kafka behind a spool, or NDJSON files) unless given. */
  events?: EventPublisher;
}

/** A running worker. */
export interface Worker {
  /** Bound gRPC port (useful when the config asked for port 0). */
  port: number;
  metricsPort: number;
  /**
   * Resolves once a model serves, health is SERVING and the worker is in the catalog (with
   * `--register`; Consul being unreachable only delays that in the background). Rejects, after
   * the worker has stopped and released everything, if it cannot serve: in static mode a version
   * that fails to load, in both modes a registration Consul refuses for good.
   */
  ready: Promise<void>;
  /** Graceful stop: NOT_SERVING, leave the catalog, refuse new calls, let in-flight ones finish within the grace period. */
  stop(): Promise<void>;
}

async function bindServer(server: Server, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(new InfermeshError('INVALID_CONFIG', `cannot listen on ${host}:${port}: ${error.message}`, { cause: error })) : resolve(boundPort),
    );
  });
}

async function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  try {
    return await startMetricsServer(registry, host, port);
  } catch (error) {
    throw new InfermeshError('INVALID_CONFIG', `cannot serve metrics on ${host}:${port}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Starts a worker: binds gRPC (health NOT_SERVING), starts /metrics, then loads a version —
 * the configured artifact (static mode) or whatever the followed deployment names (registry
 * mode, hot-reloaded) — and turns SERVING. Binding first lets Consul and Nomad see a
 * starting worker as unhealthy rather than absent. Whatever fails on the way stops what was
 * already started before the error reaches the caller, so a worker that cannot serve leaves
 * no port, timer or registration behind.
 */
export async function createWorker(config: WorkerConfig, dependencies: WorkerDependencies): Promise<Worker> {
  // Everything that can refuse the config is built before anything starts.
  const source = versionSource(config);
  // In static mode only the Consul client is used (catalog registration); versionSource made sure registry mode has a registry.
  const { kv, consul } = openRegistryStore(config);
  const logger = dependencies.logger;
  const metrics = new WorkerMetrics(dependencies.registry);
  collectProcessMetrics(dependencies.registry);
  const health = new WorkerHealth([INFERENCE_HEALTH_SERVICE]);
  const slot = new ModelSlot((error, model) => logger.error({ err: error, version: model.version }, 'disposing a retired model failed'));
  const server = new Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': config.maxMessageBytes,
  });
  server.addService(
    loadInferenceProto().inference.GRPCInferenceService.service,
    createInferenceService({
      models: slot,
      batcher: new DynamicBatcher({ maxBatchSize: config.maxBatchSize, maxQueueDelayMs: config.maxQueueDelayMs, metrics, logger: logger.child({ module: 'batching' }), now: () => performance.now() }),
      metrics,
      logger,
      serverVersion: dependencies.serverVersion,
    }),
  );
  health.addTo(server);
  const loader = new ModelLoader({
    cache: new ArtifactCache({
      dir: config.artifactCacheDir,
      maxBytes: config.maxArtifactBytes,
      maxCacheBytes: config.maxArtifactCacheBytes,
      timeoutMs: config.fetchTimeoutMs,
    }),
    loadRuntime: dependencies.loadRuntime ?? loadModelRuntime,
    runtimeOptions: { onnxIntraOpThreads: config.onnxIntraOpThreads, lookupKeyField: config.lookupKeyField },
    logger: logger.child({ module: 'model-loader' }),
  });

  // Started below; stop() releases whichever of them exist, so it also undoes a partial start.
  let metricsServer: MetricsServer | undefined;
  let registration: ConsulServiceRegistration | undefined;
  let follower: DeploymentFollower | undefined;
  let events: EventPublisher | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      health.shutdown();
      await registration?.deregister();
      await follower?.stop();
      await shutdownGracefully(server, config.shutdownGraceMs, logger);
      await metricsServer?.close();
      await slot.close();
      // Last: the lifecycle events of this run are flushed (Kafka) or stay spooled for the next start.
      await events?.stop();
      logger.info('worker stopped');
    })();
    return stopping;
  };

  let port: number;
  try {
    port = await bindServer(server, config.host, config.port);
    metricsServer = await serveMetrics(dependencies.registry, config.metricsHost, config.metricsPort);
    // Named after the bound port: several workers on one host each keep their own spool and event files.
    events =
      dependencies.events ??
      createEventPublisher(config, { logger: logger.child({ module: 'events' }), registry: dependencies.registry, source: `urn:infermesh:worker:${hostname()}:${port}`, process: `worker-${port}` });
    await events.start();
  } catch (error) {
    await stop();
    throw error;
  }
  logger.info({ port, metricsPort: metricsServer.port, model: config.model, source, deployment: config.deployment }, 'worker listening; loading model');

  const advertised = config.advertiseAddress ?? (config.host === '0.0.0.0' ? '127.0.0.1' : config.host);
  if (config.register && consul) {
    registration = new ConsulServiceRegistration(
      consul,
      {
        address: advertised,
        port,
        model: config.model,
        deployment: config.deployment ?? 'static',
      },
      logger.child({ module: 'service-registration' }),
    );
  }
  // The first registration decides whether start-up succeeded; later ones only log.
  let firstRegistration: Promise<void> | undefined;
  const onServing = (model: LoadedModel) => {
    if (stopping) return; // a load that finished during shutdown must not turn the worker SERVING again
    health.setAll('SERVING');
    const registered = registration?.update(model.version);
    if (firstRegistration === undefined) firstRegistration = registered ?? Promise.resolve();
    else void registered?.catch((error: unknown) => logger.error({ err: error, version: model.version }, 'Consul refused the catalog update; the catalog shows the previous version'));
  };

  let loaded: Promise<void>;
  if (source === 'registry') {
    follower = new DeploymentFollower(config.model, config.deployment!, {
      registry: new ModelRegistry(kv),
      loader,
      slot,
      metrics,
      logger: logger.child({ module: 'deployment-follower' }),
      random: dependencies.random ?? Math.random,
      sleep: (ms, signal) => sleep(ms, undefined, { signal }),
      onSwap: onServing,
      events,
      worker: `${advertised}:${port}`,
      ...(dependencies.registryWaitMs === undefined ? {} : { waitMs: dependencies.registryWaitMs }),
    });
    logger.info({ registry: kv.description, deployment: config.deployment }, 'following deployment');
    follower.start();
    loaded = follower.ready;
  } else {
    loaded = loader
      .load(config.model, config.version!, { uri: config.artifact!, sha256: config.sha256!, metadata: {}, ...(config.format ? { format: config.format } : {}) })
      .then(({ loaded: model, timings }) => {
        slot.swap(model);
        metrics.setServing(model);
        logger.info({ model: model.name, version: model.version, platform: model.runtime.platform, ...timings }, 'model loaded');
        onServing(model);
      });
  }
  const ready = loaded
    .then(() => firstRegistration)
    .catch(async (error: unknown) => {
      await stop();
      throw error;
    });
  return { port, metricsPort: metricsServer.port, ready, stop };
}

async function shutdownGracefully(server: Server, graceMs: number, logger: Logger): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      logger.warn({ graceMs }, 'grace period over; cancelling calls still in flight');
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
