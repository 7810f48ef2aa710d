import type { Logger } from '@infermesh/shared';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { requestLogLevel } from './request-log-level.js';

/** What is known of a request once its answer is written. */
export interface FinishedRequest {
  requestId: string;
  method: string;
  /** The route pattern, or 'unmatched': never the raw path, which would grow the series. */
  route: string;
  /** Set only for configured models, for the same reason. */
  model: string | undefined;
  status: number;
  errorCode: string | undefined;
  durationMs: number;
}

/** Records a finished request in the duration histogram and the request log, the same way for every path that serves one. */
export function observeRequest(metrics: GatewayMetrics, logger: Logger, finished: FinishedRequest): void {
  const { requestId, method, route, model, status, errorCode, durationMs } = finished;
  metrics.requestDuration.observe({ route, model: model ?? '', status: String(status) }, durationMs / 1000);
  const level = requestLogLevel(status, errorCode, route);
  if (!logger.isLevelEnabled(level)) return;
  logger[level]({ requestId, method, route, model, status, durationMs: Math.round(durationMs * 10) / 10, code: errorCode }, 'request');
}
