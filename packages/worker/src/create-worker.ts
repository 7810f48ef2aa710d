import { Server, ServerCredentials } from '@grpc/grpc-js';
import {
  ConsulKvStore,
  createConsulClient,
  FileKvStore,
  InfermeshError,
  loadHealthProto,
  loadInferenceProto,
  ModelRegistry,
  startMetricsServer,
  type Logger,
  type MetricsServer,
} from '@infermesh/shared';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { ArtifactCache } from './artifacts/artifact-cache.js';
import { versionSource, type WorkerConfig } from './config/worker-options.js';
import { ConsulServiceRegistration } from './discovery/consul-service-registration.js';
import { HealthStatusBoard } from './grpc/health-status-board.js';
import { createInferenceService } from './grpc/inference-service.js';
import { WorkerMetrics } from './metrics/worker-metrics.js';
import { DeploymentFollower } from './reload/deployment-follower.js';
import { ModelLoader } from './reload/model-loader.js';
import { ModelSlot } from './reload/model-slot.js';
import { loadModelRuntime } from './runtime/load-model-runtime.js';
import type { LoadedModel } from './runtime/loaded-model.js';

/** Service name of the inference service in grpc.health.v1. */
export const INFERENCE_SERVICE_NAME = 'inference.GRPCInferenceService';

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
}

/** A running worker. */
export interface Worker {
  /** Bound gRPC port (useful when the config asked for port 0). */
  port: number;
  metricsPort: number;
  /** Resolves once a model serves and health is SERVING; in static mode rejects if loading failed. */
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

/**
 * Starts a worker: binds gRPC (health NOT_SERVING), starts /metrics, then loads a version —
 * the configured artifact (static mode) or whatever the followed deployment names (registry
 * mode, hot-reloaded) — and turns SERVING. Binding first lets Consul and Nomad see a
 * starting worker as unhealthy rather than absent.
 */
export async function createWorker(config: WorkerConfig, dependencies: WorkerDependencies): Promise<Worker> {
  const source = versionSource(config);
  const logger = dependencies.logger;
  const metrics = new WorkerMetrics(dependencies.registry);
  collectDefaultMetrics({ register: dependencies.registry });
  const health = new HealthStatusBoard([INFERENCE_SERVICE_NAME]);
  const slot = new ModelSlot((error, model) => logger.error({ err: error, version: model.version }, 'disposing a retired model failed'));

  const server = new Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': config.maxMessageBytes,
  });
  server.addService(
    loadInferenceProto().inference.GRPCInferenceService.service,
    createInferenceService({ models: slot, metrics, logger, serverVersion: dependencies.serverVersion }),
  );
  server.addService(loadHealthProto().grpc.health.v1.Health.service, health.handlers());
  const port = await bindServer(server, config.host, config.port);
  let metricsServer: MetricsServer;
  try {
    metricsServer = await startMetricsServer(dependencies.registry, config.metricsHost, config.metricsPort);
  } catch (error) {
    server.forceShutdown();
    throw new InfermeshError('INVALID_CONFIG', `cannot serve metrics on ${config.metricsHost}:${config.metricsPort}: ${(error as Error).message}`, { cause: error });
  }
  logger.info({ port, metricsPort: metricsServer.port, model: config.model, source, deployment: config.deployment }, 'worker listening; loading model');

  const consul = config.consul === undefined ? undefined : createConsulClient(config.consul, config.consulToken);
  const registration =
    config.register && consul
      ? new ConsulServiceRegistration(
          consul,
          {
            address: config.advertiseAddress ?? (config.host === '0.0.0.0' ? '127.0.0.1' : config.host),
            port,
            model: config.model,
            deployment: config.deployment ?? 'static',
          },
          logger,
        )
      : undefined;
  const loader = new ModelLoader({
    cache: new ArtifactCache({
      dir: config.artifactCacheDir,
      maxBytes: config.maxArtifactBytes,
      maxCacheBytes: config.maxArtifactCacheBytes,
      timeoutMs: config.fetchTimeoutMs,
    }),
    loadRuntime: dependencies.loadRuntime ?? loadModelRuntime,
    runtimeOptions: { onnxIntraOpThreads: config.onnxIntraOpThreads, lookupKeyField: config.lookupKeyField },
    logger,
  });
  const onServing = (model: LoadedModel) => {
    health.setAll('SERVING');
    void registration?.update(model.version);
  };

  let follower: DeploymentFollower | undefined;
  let ready: Promise<void>;
  if (source === 'registry') {
    const kv = consul ? new ConsulKvStore(consul, config.kvPrefix) : new FileKvStore(config.registryDir!);
    follower = new DeploymentFollower(config.model, config.deployment!, {
      registry: new ModelRegistry(kv),
      loader,
      slot,
      metrics,
      logger,
      random: dependencies.random ?? Math.random,
      sleep: (ms, signal) => sleep(ms, undefined, { signal }),
      onSwap: onServing,
      ...(dependencies.registryWaitMs === undefined ? {} : { waitMs: dependencies.registryWaitMs }),
    });
    logger.info({ registry: kv.description, deployment: config.deployment }, 'following deployment');
    follower.start();
    ready = follower.ready;
  } else {
    ready = loader
      .load(config.model, config.version!, { uri: config.artifact!, sha256: config.sha256!, metadata: {}, ...(config.format ? { format: config.format } : {}) })
      .then(({ loaded, timings }) => {
        slot.swap(loaded);
        metrics.setServing(loaded);
        logger.info({ model: loaded.name, version: loaded.version, platform: loaded.runtime.platform, ...timings }, 'model loaded');
        onServing(loaded);
      });
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      health.setAll('NOT_SERVING');
      health.endWatches();
      await registration?.deregister();
      await follower?.stop();
      await shutdownGracefully(server, config.shutdownGraceMs, logger);
      await metricsServer.close();
      await slot.close();
      logger.info('worker stopped');
    })();
    return stopping;
  };
  const failFast = ready.catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { port, metricsPort: metricsServer.port, ready: failFast, stop };
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
