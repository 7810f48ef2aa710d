import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consulClientOptions, EVENT_OPTIONS, InfermeshError, SHARED_OPTIONS, type EventsConfig, type LOG_LEVELS, type OptionSpec } from '@infermesh/shared';
import { ARTIFACT_FORMATS, type ArtifactFormat } from '../artifacts/artifact-format.js';
import { DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_QUEUE_DELAY_MS, MAX_BATCH_SIZE_LIMIT, MAX_QUEUE_DELAY_LIMIT_MS } from '../batching/dynamic-batcher.js';

/** The validated configuration of one worker process. */
export interface WorkerConfig extends EventsConfig {
  model: string;
  version?: string;
  artifact?: string;
  sha256?: string;
  format?: ArtifactFormat;
  deployment?: string;
  consul?: string;
  consulToken?: string;
  registryDir?: string;
  kvPrefix: string;
  register: boolean;
  advertiseAddress?: string;
  artifactCacheDir: string;
  maxArtifactBytes: number;
  maxArtifactCacheBytes: number;
  fetchTimeoutMs: number;
  host: string;
  port: number;
  metricsHost: string;
  metricsPort: number;
  logLevel: (typeof LOG_LEVELS)[number];
  shutdownGraceMs: number;
  maxMessageBytes: number;
  onnxIntraOpThreads: number;
  lookupKeyField: string;
  maxBatchSize: number;
  maxQueueDelayMs: number;
}

/** gRPC port a worker listens on by default (Triton's). */
export const DEFAULT_WORKER_PORT = 8001;
/** Port of the worker's /metrics endpoint by default (Triton's). */
export const DEFAULT_METRICS_PORT = 8002;
/** Milliseconds in-flight calls get to finish after SIGTERM before they are cancelled. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** Largest gRPC message accepted or sent, bytes (64 MiB: a large batch of features). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Largest artifact a worker downloads, bytes (2 GiB). */
export const DEFAULT_MAX_ARTIFACT_BYTES = 2 * 1024 ** 3;
/** Total size of the artifact cache, bytes (10 GiB); older artifacts are evicted beyond it. */
export const DEFAULT_MAX_ARTIFACT_CACHE_BYTES = 10 * 1024 ** 3;
/** Milliseconds an artifact download may take. */
export const DEFAULT_FETCH_TIMEOUT_MS = 120_000;

/** A SHA-256 digest in hex, as `--sha256` takes it. */
const SHA256_PATTERN = /^[0-9a-f]{64}$/i;

/** Every option of `infermesh worker`; the README's reference table lists the same. */
export const WORKER_OPTIONS: readonly OptionSpec[] = [
  { key: 'model', flag: 'model', env: 'INFERMESH_MODEL', type: 'string', required: true, description: 'Name of the model this worker serves' },
  { key: 'deployment', flag: 'deployment', env: 'INFERMESH_DEPLOYMENT', type: 'string', description: 'Follow this deployment in the registry and hot-reload the version it names' },
  { ...SHARED_OPTIONS.consul, description: 'Consul HTTP address (registry and catalog), e.g. http://127.0.0.1:8500' },
  SHARED_OPTIONS.consulToken,
  { key: 'registryDir', flag: 'registry-dir', env: 'INFERMESH_REGISTRY_DIR', type: 'string', description: 'Directory registry (the embedded default) when Consul is not used' },
  SHARED_OPTIONS.kvPrefix,
  { key: 'register', flag: 'register', env: 'INFERMESH_REGISTER', type: 'boolean', default: false, description: 'Register in the Consul catalog as infermesh-worker with a gRPC health check' },
  { key: 'advertiseAddress', flag: 'advertise-address', env: 'INFERMESH_ADVERTISE_ADDRESS', type: 'string', description: 'Address registered in Consul; default --host, or 127.0.0.1 when --host is 0.0.0.0' },
  { key: 'version', flag: 'version', env: 'INFERMESH_MODEL_VERSION', type: 'string', description: 'Static mode: version of the artifact served (with --artifact and --sha256)' },
  { key: 'artifact', flag: 'artifact', env: 'INFERMESH_ARTIFACT', type: 'string', description: 'Static mode: artifact URI (file://, http://, https:// or a local path)' },
  { key: 'sha256', flag: 'sha256', env: 'INFERMESH_ARTIFACT_SHA256', type: 'string', description: 'Static mode: expected SHA-256 of the artifact, hex; checked before loading' },
  { key: 'format', flag: 'format', env: 'INFERMESH_ARTIFACT_FORMAT', type: 'string', values: ARTIFACT_FORMATS, description: 'Static mode: artifact format; default from the extension (.onnx, .jsonl)' },
  { key: 'artifactCacheDir', flag: 'artifact-cache-dir', env: 'INFERMESH_ARTIFACT_CACHE_DIR', type: 'string', default: join(tmpdir(), 'infermesh-artifacts'), description: 'Content-addressed cache of verified artifacts' },
  { key: 'maxArtifactBytes', flag: 'max-artifact-bytes', env: 'INFERMESH_MAX_ARTIFACT_BYTES', type: 'integer', minimum: 1, default: DEFAULT_MAX_ARTIFACT_BYTES, description: 'Largest artifact downloaded, bytes' },
  { key: 'maxArtifactCacheBytes', flag: 'max-artifact-cache-bytes', env: 'INFERMESH_MAX_ARTIFACT_CACHE_BYTES', type: 'integer', minimum: 1, default: DEFAULT_MAX_ARTIFACT_CACHE_BYTES, description: 'Total size of the artifact cache; least recently used artifacts are evicted beyond it' },
  { key: 'fetchTimeoutMs', flag: 'fetch-timeout-ms', env: 'INFERMESH_FETCH_TIMEOUT_MS', type: 'integer', minimum: 1, default: DEFAULT_FETCH_TIMEOUT_MS, description: 'Milliseconds an artifact download may take' },
  { key: 'host', flag: 'host', env: 'INFERMESH_WORKER_HOST', type: 'string', default: '0.0.0.0', description: 'Address the gRPC server binds' },
  { key: 'port', flag: 'port', env: 'INFERMESH_WORKER_PORT', type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_WORKER_PORT, description: 'gRPC port (0 = any free port)' },
  { key: 'metricsHost', flag: 'metrics-host', env: 'INFERMESH_METRICS_HOST', type: 'string', default: '0.0.0.0', description: 'Address the /metrics endpoint binds' },
  { key: 'metricsPort', flag: 'metrics-port', env: 'INFERMESH_METRICS_PORT', type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_METRICS_PORT, description: 'Port of the Prometheus /metrics endpoint (0 = any free port)' },
  SHARED_OPTIONS.logLevel,
  { key: 'shutdownGraceMs', flag: 'shutdown-grace-ms', env: 'INFERMESH_SHUTDOWN_GRACE_MS', type: 'integer', minimum: 0, default: DEFAULT_SHUTDOWN_GRACE_MS, description: 'Milliseconds in-flight calls may take to finish after SIGTERM' },
  { key: 'maxMessageBytes', flag: 'max-message-bytes', env: 'INFERMESH_MAX_MESSAGE_BYTES', type: 'integer', minimum: 1024, default: DEFAULT_MAX_MESSAGE_BYTES, description: 'Largest gRPC message received or sent, bytes' },
  { key: 'onnxIntraOpThreads', flag: 'onnx-threads', env: 'INFERMESH_ONNX_THREADS', type: 'integer', minimum: 0, default: 1, description: 'Threads one ONNX inference may use (0 = onnxruntime decides); 1 suits many small concurrent calls' },
  { key: 'lookupKeyField', flag: 'lookup-key', env: 'INFERMESH_LOOKUP_KEY', type: 'string', default: 'id', description: 'Key field of a lookup table (JSON lines)' },
  { key: 'maxBatchSize', flag: 'max-batch-size', env: 'INFERMESH_MAX_BATCH_SIZE', type: 'integer', minimum: 1, maximum: MAX_BATCH_SIZE_LIMIT, default: DEFAULT_MAX_BATCH_SIZE, description: 'Rows one model call may carry when concurrent ModelInfer calls are batched (1 = no batching)' },
  { key: 'maxQueueDelayMs', flag: 'max-queue-delay-ms', env: 'INFERMESH_MAX_QUEUE_DELAY_MS', type: 'integer', minimum: 0, maximum: MAX_QUEUE_DELAY_LIMIT_MS, default: DEFAULT_MAX_QUEUE_DELAY_MS, description: 'Milliseconds a call waits at most for the model call running before it, then runs anyway' },
  ...EVENT_OPTIONS,
];

/**
 * Which source of versions a config names; throws INVALID_CONFIG unless exactly one is
 * complete and the options that go with it are coherent (the CLI calls it to validate a
 * config before starting anything).
 */
export function versionSource(config: WorkerConfig): 'static' | 'registry' {
  const isStatic = config.artifact !== undefined || config.sha256 !== undefined || config.version !== undefined;
  if (config.register && config.consul === undefined) throw new InfermeshError('INVALID_CONFIG', '--register needs --consul (CONSUL_HTTP_ADDR)');
  if (config.consul !== undefined) {
    try {
      consulClientOptions(config.consul);
    } catch {
      throw new InfermeshError('INVALID_CONFIG', `--consul (CONSUL_HTTP_ADDR) must be an HTTP address such as http://127.0.0.1:8500, got '${config.consul}'`);
    }
  }
  if (config.sha256 !== undefined && !SHA256_PATTERN.test(config.sha256)) {
    throw new InfermeshError('INVALID_CONFIG', `--sha256 (INFERMESH_ARTIFACT_SHA256) must be 64 hexadecimal digits, got '${config.sha256}'`);
  }
  if (config.deployment !== undefined) {
    if (isStatic) throw new InfermeshError('INVALID_CONFIG', 'use either --deployment (registry) or --artifact/--sha256/--version (static), not both');
    if (config.consul === undefined && config.registryDir === undefined) {
      throw new InfermeshError('INVALID_CONFIG', '--deployment needs a registry: --consul (CONSUL_HTTP_ADDR) or --registry-dir (INFERMESH_REGISTRY_DIR)');
    }
    return 'registry';
  }
  const missing = (['version', 'artifact', 'sha256'] as const).filter((key) => config[key] === undefined);
  if (missing.length > 0) {
    throw new InfermeshError('INVALID_CONFIG', `static mode needs ${missing.map((key) => `--${key}`).join(', ')} (or use --deployment with a registry)`);
  }
  return 'static';
}
