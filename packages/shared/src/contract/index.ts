// The mesh contract's names and constants alone, importable without loading gRPC, Consul or
// Kafka clients: pure cores (the experiments package) depend on this entry point, not on the
// package index.
export { WORKER_SERVICE_NAME, DEFAULT_KV_PREFIX, EXPERIMENTS_PREFIX, RECORDS_PREFIX, HISTORY_PREFIX, NAME_PATTERN, REQUEST_ID_HEADER, ERROR_CODE_METADATA_KEY, INFERENCE_HEALTH_SERVICE } from './mesh-contract.js';
