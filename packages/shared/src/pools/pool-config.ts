import { NAME_PATTERN } from '../contract/mesh-contract.js';

/**
 * Which workers serve a model or an experiment's variant: fixed addresses, or a deployment
 * discovered in the Consul catalog. Part of both the model config and the experiment config.
 */
export interface PoolConfig {
  static?: string[];
  deployment?: string;
}

/** JSON Schema of a pool: fixed addresses or one Consul deployment. */
export const POOL_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    static: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\s:]+:\\d{1,5}$' } },
    deployment: { type: 'string', pattern: NAME_PATTERN.source },
  },
} as const;
