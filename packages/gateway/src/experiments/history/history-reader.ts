import type { KvStore, Logger } from '@infermesh/shared';
import { decodeChunk, historyPointsBetween, historyPrefixOf, type HistoryChunk, type HistoryPoint } from '@infermesh/experiments';

/** Milliseconds a model's history, once read, answers requests before KV is read again (5 s). */
export const HISTORY_CACHE_MS = 5_000;

/** What the reader needs. */
export interface HistoryReaderDependencies {
  kv: KvStore;
  logger: Logger;
  /** Milliseconds since the epoch. */
  now: () => number;
  cacheMs?: number;
}

interface Cached {
  readAt: number;
  chunks: Promise<HistoryChunk[]>;
}

/**
 * Reads the experiments' history the aggregators keep in KV (`history/{model}/…`) for the
 * history API. One read of a model's prefix answers every request for a few seconds, and
 * concurrent requests share the read in flight, so dashboards polling many replicas cost KV
 * one read per replica per {@link HISTORY_CACHE_MS}. Chunks decoded once are kept by their KV
 * index until they change. Unreadable chunks are skipped (logged once per index).
 */
export class HistoryReader {
  private readonly cache = new Map<string, Cached>();
  /** Decoded chunks by key, with the index they were decoded at. */
  private readonly decoded = new Map<string, { index: number; chunk: HistoryChunk | undefined }>();

  constructor(private readonly dependencies: HistoryReaderDependencies) {}

  /** The model's points from `from` to `to` (milliseconds since the epoch, inclusive), sorted by time. */
  async points(model: string, from: number, to: number): Promise<HistoryPoint[]> {
    return historyPointsBetween(await this.chunks(model), from, to);
  }

  /** Forgets the history of models not in `models` (the catalog changed). */
  retain(models: ReadonlySet<string>): void {
    for (const model of [...this.cache.keys()]) if (!models.has(model)) this.cache.delete(model);
    for (const key of [...this.decoded.keys()]) if (![...models].some((model) => key.startsWith(historyPrefixOf(model)))) this.decoded.delete(key);
  }

  private chunks(model: string): Promise<HistoryChunk[]> {
    const now = this.dependencies.now();
    const cached = this.cache.get(model);
    if (cached !== undefined && now - cached.readAt < (this.dependencies.cacheMs ?? HISTORY_CACHE_MS)) return cached.chunks;
    const chunks = this.read(model);
    this.cache.set(model, { readAt: now, chunks });
    // A failed read is not cached: the next request tries again.
    chunks.catch(() => {
      if (this.cache.get(model)?.chunks === chunks) this.cache.delete(model);
    });
    return chunks;
  }

  private async read(model: string): Promise<HistoryChunk[]> {
    const prefix = historyPrefixOf(model);
    const entries = await this.dependencies.kv.list(prefix);
    const present = new Set(entries.map((entry) => entry.key));
    for (const key of [...this.decoded.keys()]) if (key.startsWith(prefix) && !present.has(key)) this.decoded.delete(key);
    return entries.flatMap((entry) => {
      const known = this.decoded.get(entry.key);
      if (known?.index === entry.index) return known.chunk === undefined ? [] : [known.chunk];
      let chunk: HistoryChunk | undefined;
      try {
        chunk = decodeChunk(entry.value);
        if (chunk.model !== model) chunk = undefined;
      } catch (error) {
        this.dependencies.logger.warn({ key: entry.key, reason: (error as Error).message }, 'unreadable history chunk; skipped');
      }
      this.decoded.set(entry.key, { index: entry.index, chunk });
      return chunk === undefined ? [] : [chunk];
    });
  }
}
