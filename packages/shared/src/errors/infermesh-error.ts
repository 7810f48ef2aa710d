import type { ErrorCode } from './error-codes.js';

/** Options of an {@link InfermeshError} beyond its code and message. */
export interface InfermeshErrorOptions {
  /** Structured facts a client can act on (which tensor, what was expected). */
  details?: Record<string, unknown>;
  /** Whether the same call may succeed if repeated unchanged. */
  retriable?: boolean;
  cause?: unknown;
}

/** What clients are told about an unexpected error. */
export const INTERNAL_CLIENT_MESSAGE = 'internal error; it was logged with this request id';

/** The one error type infermesh throws on purpose; anything else is a bug (INTERNAL). */
export class InfermeshError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: InfermeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InfermeshError';
    this.code = code;
    this.details = options.details ?? {};
    this.retriable = options.retriable ?? false;
  }

  /**
   * The message a client may see. An INTERNAL error is a bug whose message may name files,
   * hosts or secrets: clients get a fixed sentence, the log keeps the real one.
   */
  get clientMessage(): string {
    return this.code === 'INTERNAL' ? INTERNAL_CLIENT_MESSAGE : this.message;
  }

  /** Wraps anything thrown into an InfermeshError; unknown errors become INTERNAL. */
  static from(error: unknown): InfermeshError {
    if (error instanceof InfermeshError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new InfermeshError('INTERNAL', message, { cause: error });
  }
}
