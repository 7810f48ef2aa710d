/**
 * Names that several processes must agree on. Each one lives here only: a worker that
 * registers under one service name and a gateway that discovers another would fail silently.
 */

/** Consul service name every worker registers under and the gateway discovers. */
export const WORKER_SERVICE_NAME = 'infermesh-worker';

/** Consul KV prefix of the registry (models, experiments, statistics records) by default. */
export const DEFAULT_KV_PREFIX = 'infermesh/';

/** KV prefix, under the registry's, of the experiment configs people write (`experiments/{model}`) and every process watches. */
export const EXPERIMENTS_PREFIX = 'experiments/';

/** KV prefix, under the registry's, of the experiment records the aggregator publishes (`stats/{model}`) and gateways route by. */
export const RECORDS_PREFIX = 'stats/';

/**
 * KV prefix, under the registry's, of each experiment's bounded history (`history/{model}/…`):
 * written by the aggregators, read by every gateway. Apart from `stats/`, whose keys gateways parse as records.
 */
export const HISTORY_PREFIX = 'history/';

/** Names of models, versions, deployments and variants: safe as KV path segments and file names. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** HTTP header and gRPC metadata key carrying the request id from client to gateway to worker. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** grpc.health.v1 service name of the worker's inference service (the gateway probes it, Consul and Nomad check it). */
export const INFERENCE_HEALTH_SERVICE = 'inference.GRPCInferenceService';

/** gRPC trailer carrying an infermesh error code across the gateway↔worker hop. */
export const ERROR_CODE_METADATA_KEY = 'infermesh-error-code';
