import { readBoundedText } from './read-bounded-text.js';
import { untilAborted } from './until-aborted.js';

/** Ways an HTTP GET of a JSON object can fail. */
export type JsonFetchFailureReason = 'timeout' | 'http_status' | 'network' | 'invalid_response';

/** The parsed body, or why there is none. */
export type JsonFetchResult =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; reason: JsonFetchFailureReason; message: string; /** Set for `http_status`. */ status?: number };

/** Options of {@link fetchJsonObject}. */
export interface JsonFetchOptions {
  /** Aborting it ends the call as a `timeout`, headers and body alike. */
  signal: AbortSignal;
  /** The budget the signal enforces, milliseconds; only for the failure message. */
  budgetMs: number;
  /** Largest body read, bytes; a larger one is `invalid_response` and is not read further. */
  maxBytes: number;
  headers?: Record<string, string>;
}

/**
 * GETs url and parses a JSON object of at most maxBytes from it; never throws. The result is
 * settled once the signal aborts even if the fetch implementation ignores the signal, so a
 * caller's time bound never depends on the transport honouring it.
 */
export async function fetchJsonObject(fetchFn: typeof fetch, url: string, options: JsonFetchOptions): Promise<JsonFetchResult> {
  const { signal } = options;
  try {
    const response = await untilAborted(fetchFn(url, { signal, headers: { accept: 'application/json', ...options.headers } }), signal);
    if (!response.ok) {
      // Discarding the body frees the connection for reuse instead of leaving it half-read.
      response.body?.cancel().catch(() => undefined);
      return { ok: false, reason: 'http_status', status: response.status, message: `HTTP ${response.status}` };
    }
    const read = await readBoundedText(response, options.maxBytes, signal);
    if (!read.ok) return { ok: false, reason: 'invalid_response', message: read.message };
    let body: unknown;
    try {
      body = JSON.parse(read.text);
    } catch (error) {
      return { ok: false, reason: 'invalid_response', message: `body is not JSON: ${(error as Error).message}` };
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { ok: false, reason: 'invalid_response', message: `body is JSON ${Array.isArray(body) ? 'array' : typeof body === 'object' ? 'null' : typeof body}, not an object` };
    }
    return { ok: true, body: body as Record<string, unknown> };
  } catch (error) {
    if (signal.aborted) return { ok: false, reason: 'timeout', message: `no complete response within ${options.budgetMs} ms` };
    return { ok: false, reason: 'network', message: describeNetworkError(error) };
  }
}

/** undici reports `fetch failed` and hides the useful part (ECONNREFUSED, socket closed) in `cause`. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return `${error.message}: ${code === undefined ? cause.message : `${code} ${cause.message}`}`;
  }
  return error.message;
}
