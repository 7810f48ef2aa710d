import { InfermeshError } from '@infermesh/shared';
import { DAY_MS, type HistoryPoint } from '@infermesh/experiments';
import type { ServedModel } from '../models/served-model.js';

/** The span `GET /v1/experiments/{model}/history` answers without `from`, milliseconds (7 days: the minute points). */
export const DEFAULT_HISTORY_SPAN_MS = 7 * DAY_MS;

/** What the history route needs. */
export interface ExperimentHistoryDependencies {
  history: { points(model: string, from: number, to: number): Promise<HistoryPoint[]> };
  /** Milliseconds since the epoch. */
  now: () => number;
}

/** A time parameter: epoch milliseconds or an ISO 8601 time with a date; INVALID_ARGUMENT names the parameter otherwise. */
export function parseHistoryTime(parameter: 'from' | 'to', text: string): number {
  const time = /^\d{1,16}$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isSafeInteger(time) || time < 0) {
    throw new InfermeshError('INVALID_ARGUMENT', `'${parameter}' must be milliseconds since the epoch or an ISO 8601 time (2026-12-07T10:00:00Z), got '${text.slice(0, 64)}'`, { details: { parameter } });
  }
  return time;
}

/**
 * `GET /v1/experiments/{model}/history?from=&to=`: the model's history points between `from`
 * and `to` (inclusive; default the last {@link DEFAULT_HISTORY_SPAN_MS} up to now), sorted by time.
 */
export async function describeHistory(model: ServedModel, query: { from: string | undefined; to: string | undefined }, dependencies: ExperimentHistoryDependencies): Promise<object> {
  const to = query.to === undefined ? dependencies.now() : parseHistoryTime('to', query.to);
  const from = query.from === undefined ? Math.max(0, to - DEFAULT_HISTORY_SPAN_MS) : parseHistoryTime('from', query.from);
  if (from > to) throw new InfermeshError('INVALID_ARGUMENT', `'from' (${new Date(from).toISOString()}) is after 'to' (${new Date(to).toISOString()})`, { details: { parameter: 'from' } });
  return { model: model.name, points: await dependencies.history.points(model.name, from, to) };
}
