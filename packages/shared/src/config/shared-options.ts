import { DEFAULT_KV_PREFIX } from '../contract/mesh-contract.js';
import { LOG_LEVELS } from '../logging/create-logger.js';
import type { OptionSpec } from './option-spec.js';

/** How long a prediction's feedback token is accepted, seconds (one day). */
export const DEFAULT_FEEDBACK_TTL_SECONDS = 86_400;

/**
 * Options several processes read under the same flag, variable and default: the aggregator
 * reads and writes the KV the gateways watch, and deduplicates rewards for as long as the
 * gateways accept a feedback token. A process may word the description for what it does with
 * the value (`{ ...SHARED_OPTIONS.consul, description }`); flag, variable, type and default
 * are defined here only.
 */
export const SHARED_OPTIONS = {
  consul: { key: 'consul', flag: 'consul', env: 'CONSUL_HTTP_ADDR', type: 'string', description: 'Consul HTTP address of the registry' },
  consulToken: { key: 'consulToken', flag: 'consul-token', env: 'CONSUL_HTTP_TOKEN', type: 'string', description: 'Consul ACL token' },
  kvPrefix: { key: 'kvPrefix', flag: 'kv-prefix', env: 'INFERMESH_KV_PREFIX', type: 'string', default: DEFAULT_KV_PREFIX, description: 'Consul KV prefix of the registry' },
  feedbackTtlSeconds: {
    key: 'feedbackTtlSeconds',
    flag: 'feedback-ttl-seconds',
    env: 'INFERMESH_FEEDBACK_TTL_SECONDS',
    type: 'integer',
    minimum: 1,
    default: DEFAULT_FEEDBACK_TTL_SECONDS,
    description: 'Seconds a feedback token stays valid',
  },
  logLevel: { key: 'logLevel', flag: 'log-level', env: 'INFERMESH_LOG_LEVEL', type: 'string', values: LOG_LEVELS, default: 'info', description: 'Lowest log level written' },
} satisfies Record<string, OptionSpec>;
