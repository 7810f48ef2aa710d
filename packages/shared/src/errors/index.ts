// The errors alone, importable without loading gRPC, Consul or Kafka clients: pure cores
// (the experiment policy) depend on this entry point, not on the package index.
export { ERROR_CODES, type ErrorCode } from './error-codes.js';
export { InfermeshError, type InfermeshErrorOptions } from './infermesh-error.js';
