import type { KvStore, Logger } from '@infermesh/shared';
import type { ExperimentRecord } from '../records/experiment-record.js';
import { dueMaintenance, foldIntoHours } from './downsample-history.js';
import { appendPoint, chunkKey, chunkStartOf, decodeChunk, emptyChunk, encodeChunk, historyPrefixOf, MINUTE_MS, type HistoryChunk } from './history-chunk.js';
import { historyPointOf } from './history-point.js';

/** Milliseconds between two maintenance rounds of one model's history by one writer (10 minutes). */
export const HISTORY_MAINTENANCE_INTERVAL_MS = 10 * 60_000;
/** Compare-and-set attempts of one append or fold before it waits for the next publication. */
const MAX_CAS_ATTEMPTS = 3;

/** What one call of {@link HistoryWriter.append} did. */
export type AppendOutcome = 'appended' | 'slot-taken' | 'busy' | 'full' | 'conflict' | 'failed';

/** What the writer needs. */
export interface HistoryWriterDependencies {
  /** The registry: Consul KV or the file registry. */
  kv: KvStore;
  logger: Logger;
}

/**
 * Keeps each experiment's bounded history in KV (`history/{model}/…`, see history-chunk.ts):
 * after a record is published, {@link append} adds its point to the chunk of its hour by
 * compare-and-set (so several aggregator instances never duplicate a point) and, every
 * {@link HISTORY_MAINTENANCE_INTERVAL_MS}, folds old minute chunks into hourly points and
 * deletes chunks past retention, a few at a time. Never throws: history is a view, and a KV
 * problem must not stop records from being published; it is logged and the next call retries.
 * The time is always the caller's (`now`), never read here.
 */
export class HistoryWriter {
  /** Per model, the last minute a point was appended or found taken: later records of that minute cost no KV read. */
  private readonly lastMinute = new Map<string, number>();
  private readonly lastMaintenance = new Map<string, number>();
  private readonly busy = new Set<string>();
  private failing = false;

  constructor(private readonly dependencies: HistoryWriterDependencies) {}

  /** Adds the record's point (time: its generatedAt) unless its minute has one, then maintains the model's history when due at `now`. */
  async append(record: ExperimentRecord, now: number): Promise<AppendOutcome> {
    const { model } = record;
    // One operation per model at a time: a slow KV must not pile up appends from a fast publisher.
    if (this.busy.has(model)) return 'busy';
    this.busy.add(model);
    try {
      const outcome = await this.appendPoint(record);
      if (now - (this.lastMaintenance.get(model) ?? -Infinity) >= HISTORY_MAINTENANCE_INTERVAL_MS) {
        this.lastMaintenance.set(model, now);
        await this.maintain(model, now);
      }
      this.recovered();
      return outcome;
    } catch (error) {
      this.failed(model, error);
      return 'failed';
    } finally {
      this.busy.delete(model);
    }
  }

  private async appendPoint(record: ExperimentRecord): Promise<AppendOutcome> {
    const { kv, logger } = this.dependencies;
    const minute = Math.floor(record.generatedAt / MINUTE_MS);
    if (minute <= (this.lastMinute.get(record.model) ?? -Infinity)) return 'slot-taken';
    const point = historyPointOf(record);
    const key = chunkKey(record.model, 'minute', chunkStartOf('minute', point.t));
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const entry = await kv.get(key);
      const chunk = entry === undefined ? emptyChunk(record.model, 'minute', point.t) : this.readable(key, entry.value) ?? emptyChunk(record.model, 'minute', point.t);
      const result = appendPoint(chunk, point);
      if ('refused' in result) {
        if (result.refused === 'slot-taken') this.lastMinute.set(record.model, minute);
        else logger.warn({ model: record.model, key, reason: result.refused }, 'history point not stored');
        return result.refused === 'full' ? 'full' : 'slot-taken';
      }
      if (await kv.compareAndSet(key, result.encoded, entry?.index ?? 0)) {
        this.lastMinute.set(record.model, minute);
        return 'appended';
      }
    }
    return 'conflict';
  }

  /** One bounded maintenance round of a model's history. */
  private async maintain(model: string, now: number): Promise<void> {
    const { kv } = this.dependencies;
    for (const action of dueMaintenance(model, await kv.keys(historyPrefixOf(model)), now)) {
      if (action.kind === 'delete') {
        const entry = await kv.get(action.key);
        if (entry !== undefined) await kv.compareAndDelete(action.key, entry.index);
        continue;
      }
      const minutes = await kv.get(action.minuteKey);
      if (minutes === undefined) continue;
      const minuteChunk = this.readable(action.minuteKey, minutes.value);
      if (minuteChunk !== undefined && !(await this.foldInto(action.hourKey, minuteChunk))) continue;
      // Deleted only once its points are in the hour chunk, and only if nobody appended meanwhile.
      await kv.compareAndDelete(action.minuteKey, minutes.index);
    }
  }

  private async foldInto(hourKey: string, minutes: HistoryChunk): Promise<boolean> {
    const { kv } = this.dependencies;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const entry = await kv.get(hourKey);
      const hours = entry === undefined ? undefined : this.readable(hourKey, entry.value);
      const folded = encodeChunk(foldIntoHours(hours, minutes));
      if (entry?.value === folded || (await kv.compareAndSet(hourKey, folded, entry?.index ?? 0))) return true;
    }
    return false;
  }

  /** A stored chunk, or undefined (logged) for one that cannot be read: it is written again from scratch. */
  private readable(key: string, value: string): HistoryChunk | undefined {
    try {
      return decodeChunk(value);
    } catch (error) {
      this.dependencies.logger.warn({ key, reason: (error as Error).message }, 'unreadable history chunk; starting it again');
      return undefined;
    }
  }

  private failed(model: string, error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.dependencies.logger.warn({ model, reason: (error as Error).message }, 'cannot write the experiment history; retrying with the next record');
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.dependencies.logger.info('writing the experiment history again');
  }
}
