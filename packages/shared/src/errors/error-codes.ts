/**
 * Every error infermesh reports has one of these stable codes. Clients and scripts may
 * match on them; never rename one, only add.
 */
export const ERROR_CODES = [
  // Client mistakes.
  'INVALID_ARGUMENT',
  'MALFORMED_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'MISSING_FEATURE',
  'UNAUTHORIZED',
  'INVALID_TENSOR',
  'MODEL_NOT_FOUND',
  'VERSION_NOT_FOUND',
  'DEPLOYMENT_NOT_FOUND',
  'ALREADY_EXISTS',
  'CONFLICT',
  // Configuration and artifacts.
  'INVALID_CONFIG',
  'ARTIFACT_NOT_FOUND',
  'ARTIFACT_CHECKSUM_MISMATCH',
  'ARTIFACT_CORRUPT',
  'ARTIFACT_UNSUPPORTED_FORMAT',
  'ARTIFACT_FETCH_FAILED',
  'WARMUP_FAILED',
  'INCOMPATIBLE_MODEL',
  // Serving.
  'MODEL_NOT_READY',
  'NO_HEALTHY_WORKER',
  'SHUTTING_DOWN',
  'INFERENCE_FAILED',
  'UPSTREAM_UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
] as const;

/** A stable error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];
