import { httpStatusFor, InfermeshError } from '@infermesh/shared';

/** An error as the gateway answers it. */
export interface ErrorResponse {
  status: number;
  error: InfermeshError;
}

interface HttpParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  message?: string;
}

/**
 * Maps anything a request can throw to a status and a typed error. Body-parser and router
 * errors (malformed JSON, oversized body, undecodable URL) are client errors with their own
 * codes; only unknown errors become 500 INTERNAL.
 */
export function toErrorResponse(thrown: unknown): ErrorResponse {
  if (thrown instanceof InfermeshError) return { status: httpStatusFor(thrown.code), error: thrown };
  const parserError = thrown as HttpParserError;
  const status = parserError?.status ?? parserError?.statusCode;
  switch (parserError?.type) {
    case 'entity.parse.failed':
      return { status: 400, error: new InfermeshError('MALFORMED_JSON', `request body is not valid JSON: ${parserError.message ?? ''}`) };
    case 'entity.too.large':
      return { status: 413, error: new InfermeshError('PAYLOAD_TOO_LARGE', 'request body is larger than the gateway accepts (--max-body-bytes)') };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, error: new InfermeshError('UNSUPPORTED_MEDIA_TYPE', parserError.message ?? 'unsupported encoding') };
    default:
      break;
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status: 400, error: new InfermeshError('INVALID_ARGUMENT', parserError.message ?? 'bad request') };
  }
  return { status: 500, error: InfermeshError.from(thrown) };
}
