import { Server, ServerCredentials } from '@grpc/grpc-js';
import { InfermeshError, loadHealthProto, loadInferenceProto, startMetricsServer, type Logger, type MetricsServer } from '@infermesh/shared';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { resolveArtifactFormat } from './artifacts/artifact-format.js';
import { resolveLocalArtifact } from './artifacts/resolve-local-artifact.js';
import { verifySha256 } from './artifacts/verify-sha256.js';
import type { WorkerConfig } from './config/worker-options.js';
import { HealthStatusBoard } from './grpc/health-status-board.js';
import { createInferenceService } from './grpc/inference-service.js';
import { WorkerMetrics } from './metrics/worker-metrics.js';
import { loadModelRuntime } from './runtime/load-model-runtime.js';
import type { LoadedModel } from './runtime/loaded-model.js';
import type { ModelRuntime } from './runtime/model-runtime.js';

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
}

/** A running worker. */
export interface Worker {
  /** Bound gRPC port (useful when the config asked for port 0). */
  port: number;
  metricsPort: number;
  /** Resolves once the model is loaded and health is SERVING; rejects if loading failed. */
  ready: Promise<void>;
  /** Graceful stop: NOT_SERVING, refuse new calls, let in-flight ones finish within the grace period. */
  stop(): Promise<void>;
}

/** Fetches, verifies and loads the configured artifact. */
async function loadConfiguredModel(config: WorkerConfig, load: typeof loadModelRuntime, logger: Logger): Promise<LoadedModel> {
  const format = resolveArtifactFormat(config.artifact, config.format);
  const path = await resolveLocalArtifact(config.artifact);
  await verifySha256(path, config.sha256, config.artifact);
  const started = performance.now();
  const runtime = await load(format, path, { onnxIntraOpThreads: config.onnxIntraOpThreads, lookupKeyField: config.lookupKeyField });
  logger.info(
    { model: config.model, version: config.version, format, platform: runtime.platform, loadMs: Math.round(performance.now() - started) },
    'model loaded',
  );
  return { name: config.model, version: config.version, runtime };
}

/**
 * Starts a worker: binds gRPC (health NOT_SERVING), starts /metrics, then loads the model
 * and turns SERVING. Binding first lets Consul and Nomad see a starting worker as unhealthy
 * rather than absent.
 */
export async function createWorker(config: WorkerConfig, dependencies: WorkerDependencies): Promise<Worker> {
  const logger = dependencies.logger;
  const metrics = new WorkerMetrics(dependencies.registry);
  collectDefaultMetrics({ register: dependencies.registry });
  const health = new HealthStatusBoard([INFERENCE_SERVICE_NAME]);
  let model: LoadedModel | undefined;

  const server = new Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': config.maxMessageBytes,
  });
  server.addService(loadInferenceProto().inference.GRPCInferenceService.service, createInferenceService({
    currentModel: () => model,
    metrics,
    logger,
    serverVersion: dependencies.serverVersion,
  }));
  server.addService(loadHealthProto().grpc.health.v1.Health.service, health.handlers());
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${config.host}:${config.port}`, ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(new InfermeshError('INVALID_CONFIG', `cannot listen on ${config.host}:${config.port}: ${error.message}`, { cause: error })) : resolve(boundPort),
    );
  });
  let metricsServer: MetricsServer;
  try {
    metricsServer = await startMetricsServer(dependencies.registry, config.metricsHost, config.metricsPort);
  } catch (error) {
    server.forceShutdown();
    throw new InfermeshError('INVALID_CONFIG', `cannot serve metrics on ${config.metricsHost}:${config.metricsPort}: ${(error as Error).message}`, { cause: error });
  }
  logger.info({ port, metricsPort: metricsServer.port, model: config.model, version: config.version }, 'worker listening; loading model');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      health.setAll('NOT_SERVING');
      health.endWatches();
      await shutdownGracefully(server, config.shutdownGraceMs, logger);
      await metricsServer.close();
      const runtime: ModelRuntime | undefined = model?.runtime;
      model = undefined;
      await runtime?.dispose();
      logger.info('worker stopped');
    })();
    return stopping;
  };

  const ready = loadConfiguredModel(config, dependencies.loadRuntime ?? loadModelRuntime, logger).then(
    (loaded) => {
      model = loaded;
      metrics.modelInfo.set({ model: loaded.name, version: loaded.version, platform: loaded.runtime.platform }, 1);
      health.setAll('SERVING');
    },
    async (error: unknown) => {
      await stop();
      throw error;
    },
  );
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
