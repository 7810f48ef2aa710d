import { LOG_LEVELS, type OptionSpec } from '@infermesh/shared';
import { ARTIFACT_FORMATS, type ArtifactFormat } from '../artifacts/artifact-format.js';

/** The validated configuration of one worker process. */
export interface WorkerConfig {
  model: string;
  version: string;
  artifact: string;
  sha256: string;
  format?: ArtifactFormat;
  host: string;
  port: number;
  metricsHost: string;
  metricsPort: number;
  logLevel: (typeof LOG_LEVELS)[number];
  shutdownGraceMs: number;
  maxMessageBytes: number;
  onnxIntraOpThreads: number;
  lookupKeyField: string;
}

/** gRPC port a worker listens on by default (Triton's). */
export const DEFAULT_WORKER_PORT = 8001;
/** Port of the worker's /metrics endpoint by default (Triton's). */
export const DEFAULT_METRICS_PORT = 8002;
/** Milliseconds in-flight calls get to finish after SIGTERM before they are cancelled. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** Largest gRPC message accepted or sent, bytes (64 MiB: a large batch of features). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Every option of `infermesh worker`; the README's reference table lists the same. */
export const WORKER_OPTIONS: readonly OptionSpec[] = [
  { key: 'model', flag: 'model', env: 'INFERMESH_MODEL', type: 'string', required: true, description: 'Name of the model this worker serves' },
  { key: 'version', flag: 'version', env: 'INFERMESH_MODEL_VERSION', type: 'string', required: true, description: 'Version of the model being served' },
  { key: 'artifact', flag: 'artifact', env: 'INFERMESH_ARTIFACT', type: 'string', required: true, description: 'Artifact URI: file:///path or a local path' },
  { key: 'sha256', flag: 'sha256', env: 'INFERMESH_ARTIFACT_SHA256', type: 'string', required: true, description: 'Expected SHA-256 of the artifact, hex; checked before loading' },
  { key: 'format', flag: 'format', env: 'INFERMESH_ARTIFACT_FORMAT', type: 'string', values: ARTIFACT_FORMATS, description: 'Artifact format; default from the extension (.onnx, .jsonl)' },
  { key: 'host', flag: 'host', env: 'INFERMESH_WORKER_HOST', type: 'string', default: '0.0.0.0', description: 'Address the gRPC server binds' },
  { key: 'port', flag: 'port', env: 'INFERMESH_WORKER_PORT', type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_WORKER_PORT, description: 'gRPC port (0 = any free port)' },
  { key: 'metricsHost', flag: 'metrics-host', env: 'INFERMESH_METRICS_HOST', type: 'string', default: '0.0.0.0', description: 'Address the /metrics endpoint binds' },
  { key: 'metricsPort', flag: 'metrics-port', env: 'INFERMESH_METRICS_PORT', type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_METRICS_PORT, description: 'Port of the Prometheus /metrics endpoint (0 = any free port)' },
  { key: 'logLevel', flag: 'log-level', env: 'INFERMESH_LOG_LEVEL', type: 'string', values: LOG_LEVELS, default: 'info', description: 'Lowest log level written' },
  { key: 'shutdownGraceMs', flag: 'shutdown-grace-ms', env: 'INFERMESH_SHUTDOWN_GRACE_MS', type: 'integer', minimum: 0, default: DEFAULT_SHUTDOWN_GRACE_MS, description: 'Milliseconds in-flight calls may take to finish after SIGTERM' },
  { key: 'maxMessageBytes', flag: 'max-message-bytes', env: 'INFERMESH_MAX_MESSAGE_BYTES', type: 'integer', minimum: 1024, default: DEFAULT_MAX_MESSAGE_BYTES, description: 'Largest gRPC message received or sent, bytes' },
  { key: 'onnxIntraOpThreads', flag: 'onnx-threads', env: 'INFERMESH_ONNX_THREADS', type: 'integer', minimum: 0, default: 1, description: 'Threads one ONNX inference may use (0 = onnxruntime decides); 1 suits many small concurrent calls' },
  { key: 'lookupKeyField', flag: 'lookup-key', env: 'INFERMESH_LOOKUP_KEY', type: 'string', default: 'id', description: 'Key field of a lookup table (JSON lines)' },
];
