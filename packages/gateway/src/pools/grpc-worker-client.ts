import { Channel, credentials, Metadata, status as grpcStatus, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import {
  INFERENCE_HEALTH_SERVICE,
  loadHealthProto,
  loadInferenceProto,
  type GRPCInferenceServiceClient,
  type ModelInferResponse__Output,
  type ModelMetadataResponse__Output,
} from '@infermesh/shared';
import { WorkerCallError } from './worker-call-error.js';
import type { ModelInferRequest, WorkerCallOptions, WorkerClient } from './worker-client.js';

/** Largest gRPC message sent or received, bytes (64 MiB, the worker's default). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** First reconnect delay after a connection fails, milliseconds (grpc-js default: 1 s). */
export const RECONNECT_BACKOFF_INITIAL_MS = 250;
/**
 * Longest reconnect delay, milliseconds. grpc-js defaults to 120 s, so a worker restarted on
 * the same address could wait minutes to be probed back; keep it under the ejection period.
 */
export const RECONNECT_BACKOFF_MAX_MS = 2_000;

type HealthClient = InstanceType<ReturnType<typeof loadHealthProto>['grpc']['health']['v1']['Health']>;

const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_INITIAL_MS,
  'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MAX_MS,
};

/** A worker's inference and health services over one shared gRPC channel (plaintext). */
export class GrpcWorkerClient implements WorkerClient {
  private readonly channel: Channel;
  private readonly inference: GRPCInferenceServiceClient;
  private readonly health: HealthClient;

  constructor(address: string) {
    const insecure = credentials.createInsecure();
    this.channel = new Channel(address, insecure, CHANNEL_OPTIONS);
    this.inference = new (loadInferenceProto().inference.GRPCInferenceService)(address, insecure, { channelOverride: this.channel });
    this.health = new (loadHealthProto().grpc.health.v1.Health)(address, insecure, { channelOverride: this.channel });
    // Connect now, so the first call does not pay for the handshake.
    this.channel.getConnectivityState(true);
  }

  modelInfer(request: ModelInferRequest, options: WorkerCallOptions): Promise<ModelInferResponse__Output> {
    return new Promise((resolve, reject) => {
      let headersReceived = false;
      const call = this.inference.ModelInfer(request, toMetadata(options.metadata), { deadline: options.deadline }, (error, response) =>
        error || response === undefined ? reject(toWorkerCallError(error, headersReceived)) : resolve(response),
      );
      call.on('metadata', () => (headersReceived = true));
    });
  }

  modelMetadata(model: string, options: WorkerCallOptions): Promise<ModelMetadataResponse__Output> {
    return new Promise((resolve, reject) => {
      let headersReceived = false;
      const call = this.inference.ModelMetadata({ name: model }, toMetadata(options.metadata), { deadline: options.deadline }, (error, response) =>
        error || response === undefined ? reject(toWorkerCallError(error, headersReceived)) : resolve(response),
      );
      call.on('metadata', () => (headersReceived = true));
    });
  }

  check(deadline: Date): Promise<boolean> {
    return new Promise((resolve, reject) => {
      // waitForReady: a probe should see whether the worker is back, not that the channel is still backing off.
      const metadata = new Metadata();
      metadata.setOptions({ waitForReady: true });
      this.health.Check({ service: INFERENCE_HEALTH_SERVICE }, metadata, { deadline }, (error, response) =>
        error ? reject(toWorkerCallError(error, false)) : resolve(response?.status === 'SERVING'),
      );
    });
  }

  close(): void {
    this.channel.close();
  }
}

/** Creates the gRPC client of one worker address (the pools' default client factory). */
export function createGrpcWorkerClient(address: string): WorkerClient {
  return new GrpcWorkerClient(address);
}

function toMetadata(entries: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

function toWorkerCallError(error: ServiceError | null, headersReceived: boolean): WorkerCallError {
  if (error === null) return new WorkerCallError(grpcStatus.INTERNAL, 'worker answered without a message', headersReceived, undefined);
  return WorkerCallError.fromServiceError(error, headersReceived);
}
