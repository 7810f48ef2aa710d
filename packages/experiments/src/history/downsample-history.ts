import { chunkKey, chunkStartOf, CHUNK_SPAN_MS, DAY_MS, HOUR_MS, parseChunkKey, type HistoryChunk } from './history-chunk.js';
import type { HistoryPoint } from './history-point.js';

/** How long minute points are kept before they are folded into hourly points, milliseconds (7 days). */
export const MINUTE_POINTS_KEPT_MS = 7 * DAY_MS;
/** How long any history is kept, milliseconds (90 days): older hour chunks are deleted. */
export const HISTORY_KEPT_MS = 90 * DAY_MS;
/** Most chunks one maintenance round folds or deletes: a round's work is bounded however far behind it is. */
export const MAX_MAINTENANCE_ACTIONS = 4;

/** One step of history maintenance. */
export type MaintenanceAction =
  /** Fold a minute chunk into the hour chunk of its day, then delete it. */
  | { kind: 'fold'; minuteKey: string; hourKey: string }
  /** Delete a chunk past {@link HISTORY_KEPT_MS}. */
  | { kind: 'delete'; key: string };

/**
 * Folds a minute chunk into the hour chunk of its day: per hour, its last point (records are
 * cumulative, so the last one of an hour says where the hour ended). Idempotent and
 * order-free: for each hour the latest point wins, so two writers folding the same chunk, or a
 * fold repeated after a crash, give the same hour chunk.
 */
export function foldIntoHours(hours: HistoryChunk | undefined, minutes: HistoryChunk): HistoryChunk {
  const day = chunkStartOf('hour', minutes.start);
  const byHour = new Map<number, HistoryPoint>();
  for (const point of [...(hours?.points ?? []), ...minutes.points]) {
    if (chunkStartOf('hour', point.t) !== day) continue;
    const hour = Math.floor(point.t / HOUR_MS);
    const held = byHour.get(hour);
    if (held === undefined || point.t > held.t) byHour.set(hour, point);
  }
  return { model: minutes.model, resolution: 'hour', start: day, points: [...byHour.values()].sort((a, b) => a.t - b.t) };
}

/**
 * What maintenance is due for a model's history at `now`, given its keys: minute chunks that
 * ended more than {@link MINUTE_POINTS_KEPT_MS} ago are folded (or deleted, when past
 * {@link HISTORY_KEPT_MS} too), hour chunks that ended more than {@link HISTORY_KEPT_MS} ago are
 * deleted. Oldest first, at most `limit` actions. Keys that name no chunk are left alone.
 */
export function dueMaintenance(model: string, keys: readonly string[], now: number, limit = MAX_MAINTENANCE_ACTIONS): MaintenanceAction[] {
  const due: { start: number; action: MaintenanceAction }[] = [];
  for (const key of keys) {
    const chunk = parseChunkKey(model, key);
    if (chunk === undefined) continue;
    const end = chunk.start + CHUNK_SPAN_MS[chunk.resolution];
    if (end <= now - HISTORY_KEPT_MS) due.push({ start: chunk.start, action: { kind: 'delete', key } });
    else if (chunk.resolution === 'minute' && end <= now - MINUTE_POINTS_KEPT_MS) {
      due.push({ start: chunk.start, action: { kind: 'fold', minuteKey: key, hourKey: chunkKey(model, 'hour', chunk.start) } });
    }
  }
  return due.sort((a, b) => a.start - b.start).slice(0, limit).map((entry) => entry.action);
}

/**
 * The points of a model's chunks between `from` and `to` (inclusive), sorted by time, one per
 * time. Minute points win: an hour that still has its minute chunk (a fold not yet followed by
 * the delete) shows its minute points, not the hourly one too.
 */
export function historyPointsBetween(chunks: readonly HistoryChunk[], from: number, to: number): HistoryPoint[] {
  const minuteHours = new Set(chunks.filter((chunk) => chunk.resolution === 'minute').map((chunk) => chunk.start));
  const byTime = new Map<number, HistoryPoint>();
  for (const chunk of chunks) {
    for (const point of chunk.points) {
      if (point.t < from || point.t > to) continue;
      if (chunk.resolution === 'hour' && minuteHours.has(chunkStartOf('minute', point.t))) continue;
      byTime.set(point.t, point);
    }
  }
  return [...byTime.values()].sort((a, b) => a.t - b.t);
}
