import type { InfermeshError } from '@infermesh/shared';

/** The body of an error answer on the v1 routes: the code, a message safe to show, details for client mistakes. */
export function v1ErrorBody(error: InfermeshError, requestId: string) {
  return { error: { code: error.code, message: error.clientMessage, details: error.code === 'INTERNAL' ? {} : error.details }, requestId };
}

/** The body of an error answer on the v2 routes: the Open Inference Protocol's `{"error": message}`, plus the code. */
export function v2ErrorBody(error: InfermeshError) {
  return { error: error.clientMessage, code: error.code };
}
