import { status } from '@grpc/grpc-js';
import type { ErrorCode } from './error-codes.js';

/** The gRPC status a worker answers with for an error code. */
export function grpcStatusFor(code: ErrorCode): status {
  switch (code) {
    case 'INVALID_ARGUMENT':
    case 'INVALID_TENSOR':
    case 'MALFORMED_JSON':
    case 'MISSING_FEATURE':
      return status.INVALID_ARGUMENT;
    case 'PAYLOAD_TOO_LARGE':
      return status.RESOURCE_EXHAUSTED;
    case 'UNSUPPORTED_MEDIA_TYPE':
    case 'METHOD_NOT_ALLOWED':
      return status.UNIMPLEMENTED;
    case 'ROUTE_NOT_FOUND':
      return status.NOT_FOUND;
    case 'UNAUTHORIZED':
      return status.UNAUTHENTICATED;
    case 'MODEL_NOT_FOUND':
    case 'VERSION_NOT_FOUND':
    case 'DEPLOYMENT_NOT_FOUND':
    case 'ARTIFACT_NOT_FOUND':
      return status.NOT_FOUND;
    case 'INVALID_CONFIG':
    case 'ARTIFACT_CHECKSUM_MISMATCH':
    case 'ARTIFACT_CORRUPT':
    case 'ARTIFACT_UNSUPPORTED_FORMAT':
    case 'ARTIFACT_FETCH_FAILED':
    case 'WARMUP_FAILED':
    case 'INCOMPATIBLE_MODEL':
      return status.FAILED_PRECONDITION;
    case 'MODEL_NOT_READY':
    case 'NO_HEALTHY_WORKER':
    case 'SHUTTING_DOWN':
    case 'UPSTREAM_UNAVAILABLE':
      return status.UNAVAILABLE;
    case 'DEADLINE_EXCEEDED':
      return status.DEADLINE_EXCEEDED;
    case 'ALREADY_EXISTS':
      return status.ALREADY_EXISTS;
    case 'CONFLICT':
      return status.ABORTED;
    case 'INFERENCE_FAILED':
    case 'INTERNAL':
      return status.INTERNAL;
  }
}
