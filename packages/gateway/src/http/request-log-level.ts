/** The level of a request's log line. */
export type RequestLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Routes that health checkers and scrapers call every few seconds: a line each would drown the log. */
const PROBE_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics', '/v2/health/live', '/v2/health/ready']);

/**
 * ERROR is for what a human must look at: an unexpected failure (INTERNAL) or a model failing
 * on a worker (INFERENCE_FAILED; the worker logs its cause at ERROR too). No worker or a
 * missed deadline (503/504) is the system working as designed under load or during a deploy,
 * and client mistakes are the client's: both are WARN. A passing probe (Consul, Nomad,
 * Prometheus) is DEBUG. Everything else is INFO.
 */
export function requestLogLevel(status: number, errorCode: string | undefined, route = ''): RequestLogLevel {
  if (errorCode === 'INTERNAL' || errorCode === 'INFERENCE_FAILED') return 'error';
  if (status >= 400) return 'warn';
  return PROBE_ROUTES.has(route) ? 'debug' : 'info';
}
