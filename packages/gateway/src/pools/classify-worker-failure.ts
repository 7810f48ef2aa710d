import { status as grpcStatus } from '@grpc/grpc-js';
import { InfermeshError } from '@infermesh/shared';
import { WorkerCallError } from './worker-call-error.js';

/** Worker error codes (the `infermesh-error-code` trailer) meaning "this instance cannot serve now, another may". */
export const NOT_SERVING_WORKER_CODES: ReadonlySet<string> = new Set(['MODEL_NOT_READY', 'SHUTTING_DOWN']);

/** What the pool does with one failed worker call. */
export interface FailureDecision {
  /** The error reported if this is the last attempt. */
  error: InfermeshError;
  /** Whether the call provably did not reach the model, so it may run once more on another instance. */
  retryOnAnotherInstance: boolean;
  /** Whether this failure counts toward ejecting the instance (transport/availability only). */
  countsTowardEjection: boolean;
  /** Whether the instance answered (a client mistake, a missing model): proof it is alive. */
  instanceAnswered: boolean;
  /** gRPC status name for the metrics label. */
  statusName: string;
}

/**
 * Decides retry, ejection and the reported error for a failed worker call. A retry needs
 * proof the model did not run: UNAVAILABLE before any response header (connection refused,
 * GOAWAY, a reset stream), or the worker saying it is not ready or shutting down. A client's
 * INVALID_ARGUMENT never counts against an instance and stays a 4xx.
 */
export function classifyWorkerFailure(failure: unknown): FailureDecision {
  if (!(failure instanceof WorkerCallError)) {
    const error = InfermeshError.from(failure);
    return { error, retryOnAnotherInstance: false, countsTowardEjection: false, instanceAnswered: false, statusName: 'UNKNOWN' };
  }
  const { status, workerCode, headersReceived, message, statusName } = failure;
  const details = { grpcStatus: statusName, ...(workerCode === undefined ? {} : { workerCode }) };
  const decide = (error: InfermeshError, retry: boolean, counts: boolean, answered: boolean): FailureDecision => ({
    error,
    retryOnAnotherInstance: retry,
    countsTowardEjection: counts,
    instanceAnswered: answered,
    statusName,
  });
  if (workerCode !== undefined && NOT_SERVING_WORKER_CODES.has(workerCode)) {
    const code = workerCode === 'MODEL_NOT_READY' ? 'MODEL_NOT_READY' : 'UPSTREAM_UNAVAILABLE';
    return decide(new InfermeshError(code, `worker cannot serve now: ${message}`, { details, retriable: true, cause: failure }), true, true, false);
  }
  switch (status) {
    case grpcStatus.UNAVAILABLE:
      return decide(
        new InfermeshError('UPSTREAM_UNAVAILABLE', `worker unavailable: ${message}`, { details, retriable: true, cause: failure }),
        !headersReceived,
        true,
        false,
      );
    case grpcStatus.DEADLINE_EXCEEDED:
      // The caller's deadline, not the instance's fault: a slow instance already draws less
      // traffic through its in-flight count, and a tight client deadline must not eject workers.
      return decide(new InfermeshError('DEADLINE_EXCEEDED', `worker call exceeded the deadline: ${message}`, { details, cause: failure }), false, false, false);
    case grpcStatus.INVALID_ARGUMENT:
      return decide(new InfermeshError('INVALID_TENSOR', message, { details, cause: failure }), false, false, true);
    case grpcStatus.NOT_FOUND: {
      const code = workerCode === 'VERSION_NOT_FOUND' ? 'VERSION_NOT_FOUND' : 'MODEL_NOT_FOUND';
      return decide(new InfermeshError(code, message, { details, cause: failure }), false, false, true);
    }
    default:
      // With its error-code trailer the worker answered (e.g. INFERENCE_FAILED): the model ran and
      // failed, so neither a retry nor ejection helps. Without one, the failure came from transport.
      if (workerCode !== undefined) {
        return decide(new InfermeshError('INTERNAL', `worker failed the call (${workerCode}): ${message}`, { details, cause: failure }), false, false, true);
      }
      return decide(
        new InfermeshError('UPSTREAM_UNAVAILABLE', `worker call failed: ${statusName}: ${message}`, { details, retriable: true, cause: failure }),
        false,
        true,
        false,
      );
  }
}
