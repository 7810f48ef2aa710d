import { InfermeshError, LOG_LEVELS, type OptionSpec } from '@infermesh/shared';

/** The validated configuration of one gateway process. */
export interface GatewayConfig {
  host: string;
  port: number;
  consul?: string;
  consulToken?: string;
  registryDir: string;
  kvPrefix: string;
  maxBodyBytes: number;
  logLevel: (typeof LOG_LEVELS)[number];
  shutdownGraceMs: number;
}

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
  { key: 'consul', flag: 'consul', env: 'CONSUL_HTTP_ADDR', type: 'string', description: 'Consul HTTP address: model configs from KV, workers from the catalog' },
  { key: 'consulToken', flag: 'consul-token', env: 'CONSUL_HTTP_TOKEN', type: 'string', description: 'Consul ACL token' },
  { key: 'registryDir', flag: 'registry-dir', env: 'INFERMESH_REGISTRY_DIR', type: 'string', default: '.infermesh/registry', description: 'File registry of model configs when Consul is not used' },
  { key: 'kvPrefix', flag: 'kv-prefix', env: 'INFERMESH_KV_PREFIX', type: 'string', default: 'infermesh/', description: 'Consul KV prefix of the registry' },
  { key: 'maxBodyBytes', flag: 'max-body-bytes', env: 'INFERMESH_MAX_BODY_BYTES', type: 'integer', minimum: 1024, default: DEFAULT_MAX_BODY_BYTES, description: 'Largest request body accepted, bytes' },
  { key: 'logLevel', flag: 'log-level', env: 'INFERMESH_LOG_LEVEL', type: 'string', values: LOG_LEVELS, default: 'info', description: 'Lowest log level written' },
  { key: 'shutdownGraceMs', flag: 'shutdown-grace-ms', env: 'INFERMESH_SHUTDOWN_GRACE_MS', type: 'integer', minimum: 0, default: DEFAULT_GATEWAY_SHUTDOWN_GRACE_MS, description: 'Milliseconds open requests may take to finish after SIGTERM' },
];

/** Throws INVALID_CONFIG when options contradict each other. */
export function checkGatewayConfig(config: GatewayConfig): void {
  if (config.consul !== undefined && !/^https?:\/\/|^[^/:]+:\d+$/.test(config.consul)) {
    throw new InfermeshError('INVALID_CONFIG', `--consul (CONSUL_HTTP_ADDR) must look like http://host:port, got '${config.consul}'`);
  }
}
