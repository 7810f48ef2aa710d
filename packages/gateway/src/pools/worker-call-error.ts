import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ERROR_CODE_METADATA_KEY } from '@infermesh/shared';

/** A failed call to a worker, with what the retry and ejection decisions need to know. */
export class WorkerCallError extends Error {
  constructor(
    /** The gRPC status code. */
    readonly status: grpcStatus,
    message: string,
    /** Whether the worker sent response headers before failing (then it may have run the model). */
    readonly headersReceived: boolean,
    /** The worker's `infermesh-error-code` trailer, when it answered with one. */
    readonly workerCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WorkerCallError';
  }

  /** The gRPC status name, e.g. `UNAVAILABLE` (the metrics label). */
  get statusName(): string {
    return grpcStatus[this.status] ?? String(this.status);
  }

  /** Wraps a grpc-js ServiceError. */
  static fromServiceError(error: ServiceError, headersReceived: boolean): WorkerCallError {
    const trailer = error.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
    const workerCode = typeof trailer === 'string' ? trailer : trailer?.toString();
    return new WorkerCallError(error.code, error.details || error.message, headersReceived, workerCode, { cause: error });
  }
}
