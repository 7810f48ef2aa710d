import { status as grpcStatus } from '@grpc/grpc-js';
import { ERROR_CODES, grpcStatusFor, InfermeshError, type ErrorCode } from '@infermesh/shared';
import { WorkerCallError } from './worker-call-error.js';

/** Worker error codes (the `infermesh-error-code` trailer) meaning "this instance cannot serve now, another may". */
export const NOT_SERVING_WORKER_CODES: ReadonlySet<string> = new Set(['MODEL_NOT_READY', 'SHUTTING_DOWN']);

/**
 * The worker's own error code when the trailer holds one this gateway knows and the status is the
 * one the worker answers that code with (a proxy's or a newer worker's status/code pair is not
 * taken at its word). Such an error the worker raised on purpose: its code is the answer.
 */
function typedWorkerCode(workerCode: string | undefined, status: grpcStatus): ErrorCode | undefined {
  if (workerCode === undefined || !(ERROR_CODES as readonly string[]).includes(workerCode)) return undefined;
  return grpcStatusFor(workerCode as ErrorCode) === status ? (workerCode as ErrorCode) : undefined;
}

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
    default:
      break;
  }
  // The worker answered with its own code (INVALID_TENSOR, MODEL_NOT_FOUND, INFERENCE_FAILED, …):
  // the code and its HTTP status pass through, and so does `retriable` (false for every code the
  // worker sends with a status other than UNAVAILABLE, handled above). The model ran or was
  // refused, so neither a retry nor ejection helps, and the instance is alive. An INTERNAL one
  // keeps its message in the log only, like any INTERNAL error.
  const typed = typedWorkerCode(workerCode, status);
  if (typed !== undefined) {
    const text = typed === 'INTERNAL' ? `worker failed the call (${typed}): ${message}` : message;
    return decide(new InfermeshError(typed, text, { details, cause: failure }), false, false, true);
  }
  switch (status) {
    case grpcStatus.INVALID_ARGUMENT:
      return decide(new InfermeshError('INVALID_TENSOR', message, { details, cause: failure }), false, false, true);
    case grpcStatus.NOT_FOUND:
      return decide(new InfermeshError('MODEL_NOT_FOUND', message, { details, cause: failure }), false, false, true);
    default:
      // A code this gateway does not know: the worker answered, but what it means is unknown (a bug here).
      if (workerCode !== undefined) {
        return decide(new InfermeshError('INTERNAL', `worker failed the call (${workerCode}): ${message}`, { details, cause: failure }), false, false, true);
      }
      // Without a code the failure came from transport.
      return decide(
        new InfermeshError('UPSTREAM_UNAVAILABLE', `worker call failed: ${statusName}: ${message}`, { details, retriable: true, cause: failure }),
        false,
        true,
        false,
      );
  }
}
