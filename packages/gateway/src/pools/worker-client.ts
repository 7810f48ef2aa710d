import type { ModelInferRequest, ModelInferResponse__Output, ModelMetadataResponse__Output } from '@infermesh/shared';

export type { ModelInferRequest };

/** Per-call options of {@link WorkerClient.modelInfer}. */
export interface WorkerCallOptions {
  deadline: Date;
  /** Sent as gRPC metadata (e.g. `x-request-id`). */
  metadata: Record<string, string>;
}

/**
 * The calls a pool makes to one worker instance. Failures reject with a WorkerCallError, which
 * says whether response headers arrived (the retry decision needs it). The gRPC adapter is
 * {@link GrpcWorkerClient}; tests pass in-memory ones.
 */
export interface WorkerClient {
  /** inference.GRPCInferenceService/ModelInfer. */
  modelInfer(request: ModelInferRequest, options: WorkerCallOptions): Promise<ModelInferResponse__Output>;
  /** inference.GRPCInferenceService/ModelMetadata for `model` (any version). */
  modelMetadata(model: string, options: WorkerCallOptions): Promise<ModelMetadataResponse__Output>;
  /** grpc.health.v1.Health/Check of the inference service: true when SERVING. */
  check(deadline: Date): Promise<boolean>;
  /** Closes the channel; calls still running may be cancelled. */
  close(): void;
}

/** Makes the client of one instance address; called once per address. */
export type WorkerClientFactory = (address: string) => WorkerClient;
