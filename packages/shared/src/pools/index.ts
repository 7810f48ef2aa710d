// The pool config alone, importable without loading gRPC, Consul or Kafka clients: the
// experiments package validates variants' pools with it.
export { POOL_CONFIG_SCHEMA, type PoolConfig } from './pool-config.js';
