export type { WorkerEndpoint } from './worker-endpoint.js';
export type { EndpointSource } from './endpoint-source.js';
export { StaticEndpointSource } from './static-endpoint-source.js';
export {
  ConsulEndpointSource,
  CATALOG_WAIT_MS,
  type ConsulEndpointFilter,
  type ConsulEndpointSourceDependencies,
} from './consul-endpoint-source.js';
export { PoolMetrics, WORKER_CALL_DURATION_BUCKETS } from './pool-metrics.js';
export {
  WorkerPool,
  DEFAULT_EJECT_AFTER_FAILURES,
  DEFAULT_EJECTION_MS,
  DEFAULT_PROBE_TIMEOUT_MS,
  PROBE_SWEEP_INTERVAL_MS,
  METADATA_TIMEOUT_MS,
  MAX_ATTEMPTS,
  type PoolOptions,
  type PoolCallResult,
  type WorkerPoolDependencies,
} from './worker-pool.js';
export type { WorkerClient, WorkerClientFactory, WorkerCallOptions, ModelInferRequest } from './worker-client.js';
export { GrpcWorkerClient, createGrpcWorkerClient, RECONNECT_BACKOFF_INITIAL_MS, RECONNECT_BACKOFF_MAX_MS, MAX_MESSAGE_BYTES } from './grpc-worker-client.js';
export { WorkerCallError } from './worker-call-error.js';
export { classifyWorkerFailure, NOT_SERVING_WORKER_CODES, type FailureDecision } from './classify-worker-failure.js';
export { powerOfTwoChoices } from './power-of-two-choices.js';
export { InstanceHealth, type EjectionPolicy } from './instance-health.js';
