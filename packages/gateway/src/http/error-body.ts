import type { InfermeshError } from '@infermesh/shared';

/** Which error body a route answers with: the gateway's v1 API's, or the Open Inference Protocol v2's. */
export type ErrorFlavour = 'v1' | 'v2';

/** The body of an error answer on the v1 routes: the code, a message safe to show, details for client mistakes. */
export function v1ErrorBody(error: InfermeshError, requestId: string) {
  return { error: { code: error.code, message: error.clientMessage, details: error.code === 'INTERNAL' ? {} : error.details }, requestId };
}

/** The body of an error answer on the v2 routes: the Open Inference Protocol's `{"error": message}`, plus the code. */
export function v2ErrorBody(error: InfermeshError) {
  return { error: error.clientMessage, code: error.code };
}

/** The error body of the given flavour. */
export function errorBody(flavour: ErrorFlavour, error: InfermeshError, requestId: string): object {
  return flavour === 'v2' ? v2ErrorBody(error) : v1ErrorBody(error, requestId);
}

/**
 * The flavour of an error no route answers for (an unknown path, a method the path does not
 * take, a body the app-wide parser refused): v2 for a path under /v2, where Open Inference
 * clients call, v1 anywhere else.
 */
export function unroutedErrorFlavour(path: string): ErrorFlavour {
  return path.startsWith('/v2') ? 'v2' : 'v1';
}
