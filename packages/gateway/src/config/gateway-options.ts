import { DEFAULT_REGISTRY_DIR, EVENT_OPTIONS, InfermeshError, SHARED_OPTIONS, type EventsConfig, type LOG_LEVELS, type OptionSpec } from '@infermesh/shared';
import { FeedbackTokenSigner } from '../feedback/feedback-token-signer.js';

/** The validated configuration of one gateway process. */
export interface GatewayConfig extends EventsConfig {
  host: string;
  port: number;
  consul?: string;
  consulToken?: string;
  registryDir: string;
  kvPrefix: string;
  maxBodyBytes: number;
  logLevel: (typeof LOG_LEVELS)[number];
  shutdownGraceMs: number;
  feedbackKeys?: string;
  feedbackTtlSeconds: number;
  adminToken?: string;
  experimentRecords: (typeof EXPERIMENT_RECORD_SOURCES)[number];
  recordIntervalMs: number;
}

/**
 * Where the gateway gets the experiment records it routes by: `local`, an aggregator inside
 * this process counting this gateway's traffic (the embedded mesh, one gateway); `registry`,
 * the records the aggregator service publishes under `stats/` (every replica routes alike);
 * `auto`, registry when both Consul and Kafka are configured, else local (see recordSourceOf).
 */
export const EXPERIMENT_RECORD_SOURCES = ['auto', 'local', 'registry'] as const;
/** Milliseconds between records of the in-process aggregator. */
export const DEFAULT_RECORD_INTERVAL_MS = 1_000;

/** HTTP port of the gateway by default. */
export const DEFAULT_GATEWAY_PORT = 8080;
/** Largest request body, bytes (1 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Milliseconds open requests get to finish after SIGTERM. */
export const DEFAULT_GATEWAY_SHUTDOWN_GRACE_MS = 10_000;

/** Every option of `infermesh gateway`; the README's reference table lists the same. */
export const GATEWAY_OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: 'host', env: 'INFERMESH_GATEWAY_HOST', type: 'string', default: '0.0.0.0', description: 'Address the HTTP server binds' },
  { key: 'port', flag: 'port', env: 'INFERMESH_GATEWAY_PORT', type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_GATEWAY_PORT, description: 'HTTP port (0 = any free port)' },
  { ...SHARED_OPTIONS.consul, description: 'Consul HTTP address: model configs from KV, workers from the catalog' },
  SHARED_OPTIONS.consulToken,
  { key: 'registryDir', flag: 'registry-dir', env: 'INFERMESH_REGISTRY_DIR', type: 'string', default: DEFAULT_REGISTRY_DIR, description: 'File registry of model configs when Consul is not used' },
  SHARED_OPTIONS.kvPrefix,
  { key: 'maxBodyBytes', flag: 'max-body-bytes', env: 'INFERMESH_MAX_BODY_BYTES', type: 'integer', minimum: 1024, default: DEFAULT_MAX_BODY_BYTES, description: 'Largest request body accepted, bytes' },
  SHARED_OPTIONS.logLevel,
  { key: 'feedbackKeys', flag: 'feedback-keys', env: 'INFERMESH_FEEDBACK_KEYS', type: 'string', description: 'HMAC keys of feedback tokens, "id:secret,id:secret" (first signs, the rest are still accepted); same on every replica. Unset: a random per-process key' },
  SHARED_OPTIONS.feedbackTtlSeconds,
  { key: 'adminToken', flag: 'admin-token', env: 'INFERMESH_ADMIN_TOKEN', type: 'string', description: 'Bearer token required by PUT /v1/experiments/{model}; unset disables it' },
  { key: 'experimentRecords', flag: 'experiment-records', env: 'INFERMESH_EXPERIMENT_RECORDS', type: 'string', values: EXPERIMENT_RECORD_SOURCES, default: 'auto', description: 'Records experiments route by: local (an in-process aggregator over this gateway\'s traffic), registry (published by `infermesh aggregate` under stats/), or auto: registry when --consul and --kafka-brokers are both set, else local' },
  { key: 'recordIntervalMs', flag: 'record-interval-ms', env: 'INFERMESH_RECORD_INTERVAL_MS', type: 'integer', minimum: 50, default: DEFAULT_RECORD_INTERVAL_MS, description: 'Milliseconds between records of the local aggregator' },
  { key: 'shutdownGraceMs', flag: 'shutdown-grace-ms', env: 'INFERMESH_SHUTDOWN_GRACE_MS', type: 'integer', minimum: 0, default: DEFAULT_GATEWAY_SHUTDOWN_GRACE_MS, description: 'Milliseconds open requests may take to finish after SIGTERM' },
  ...EVENT_OPTIONS,
];

/** Throws INVALID_CONFIG when options contradict each other or a value cannot work (before anything starts). */
export function checkGatewayConfig(config: GatewayConfig): void {
  if (config.feedbackKeys !== undefined) {
    // Constructing the signer checks ids, lengths and duplicates exactly as the gateway will.
    new FeedbackTokenSigner({ keys: parseFeedbackKeys(config.feedbackKeys), ttlMs: config.feedbackTtlSeconds * 1000, now: Date.now });
  }
  if (config.consul !== undefined && !/^https?:\/\/|^[^/:]+:\d+$/.test(config.consul)) {
    throw new InfermeshError('INVALID_CONFIG', `--consul (CONSUL_HTTP_ADDR) must look like http://host:port, got '${config.consul}'`);
  }
}

/** Parses `--feedback-keys` ("id:secret,id:secret"); secrets may contain ':'. */
export function parseFeedbackKeys(text: string): { id: string; secret: string }[] {
  return text.split(',').map((pair) => {
    const separator = pair.indexOf(':');
    if (separator <= 0 || separator === pair.length - 1) throw new InfermeshError('INVALID_CONFIG', '--feedback-keys (INFERMESH_FEEDBACK_KEYS) must look like "id:secret,id:secret"');
    return { id: pair.slice(0, separator).trim(), secret: pair.slice(separator + 1) };
  });
}
