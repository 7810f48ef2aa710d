import type { ErrorCode } from './error-codes.js';

/** The HTTP status the gateway answers with for an error code. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'INVALID_ARGUMENT':
    case 'INVALID_TENSOR':
    case 'MALFORMED_JSON':
      return 400;
    case 'UNAUTHORIZED':
      return 401;
    case 'ROUTE_NOT_FOUND':
      return 404;
    case 'METHOD_NOT_ALLOWED':
      return 405;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'MISSING_FEATURE':
      return 422;
    case 'MODEL_NOT_FOUND':
    case 'VERSION_NOT_FOUND':
    case 'DEPLOYMENT_NOT_FOUND':
    case 'ARTIFACT_NOT_FOUND':
      return 404;
    case 'INVALID_CONFIG':
    case 'ARTIFACT_CHECKSUM_MISMATCH':
    case 'ARTIFACT_CORRUPT':
    case 'ARTIFACT_UNSUPPORTED_FORMAT':
    case 'ARTIFACT_FETCH_FAILED':
    case 'WARMUP_FAILED':
    case 'INCOMPATIBLE_MODEL':
      return 422;
    case 'MODEL_NOT_READY':
    case 'NO_HEALTHY_WORKER':
    case 'SHUTTING_DOWN':
    case 'UPSTREAM_UNAVAILABLE':
      return 503;
    case 'DEADLINE_EXCEEDED':
      return 504;
    case 'ALREADY_EXISTS':
    case 'CONFLICT':
      return 409;
    case 'INFERENCE_FAILED':
    case 'INTERNAL':
      return 500;
  }
}
