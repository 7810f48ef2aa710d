import { BlockingWatch, InfermeshError, type KvEntry, type KvStore, type Logger } from '@infermesh/shared';
import { parseExperimentRecord } from './experiment-record.js';
import type { RecordStore } from './record-store.js';

/** KV prefix of the experiment records the aggregator publishes (`stats/{model}`). */
export const RECORDS_PREFIX = 'stats/';
/** Milliseconds one blocking query on the records waits before asking again. */
export const RECORDS_WAIT_MS = 30_000;
const RECORD_KEY = /^stats\/([^/]+)$/;

/** What the watcher needs. */
export interface KvRecordWatcherDependencies {
  kv: KvStore;
  store: RecordStore;
  logger: Logger;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Counts a record refused as invalid. */
  onRejected: (model: string) => void;
  waitMs?: number;
}

/**
 * Follows the records the aggregator publishes under `stats/` and keeps the newest valid one
 * per model in the store. An invalid record is refused with a WARN and a metric; the gateway
 * keeps routing by the record it held (or by the weights without one), so a bad publication
 * never takes predictions down.
 */
export class KvRecordWatcher {
  private readonly watch: BlockingWatch<KvEntry[]>;
  private readonly refused = new Map<string, string>();
  /** Resolves after the first listing was applied. */
  readonly ready: Promise<void>;

  constructor(private readonly dependencies: KvRecordWatcherDependencies) {
    const { kv, logger, random, sleep } = dependencies;
    this.watch = new BlockingWatch({
      what: 'experiment records',
      query: async (index, signal) => {
        const change = await kv.waitForPrefixChange(RECORDS_PREFIX, index, { waitMs: dependencies.waitMs ?? RECORDS_WAIT_MS, signal });
        return { index: change.index, value: change.entries };
      },
      apply: (entries) => this.apply(entries),
      logger,
      sleep,
      backoff: { random },
    });
    this.ready = this.watch.ready;
  }

  /** Starts watching. */
  start(): void {
    this.watch.start();
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    await this.watch.stop();
  }

  private apply(entries: readonly KvEntry[]): void {
    const { store, logger, onRejected } = this.dependencies;
    for (const entry of entries) {
      const model = RECORD_KEY.exec(entry.key)?.[1];
      if (model === undefined || this.refused.get(model) === entry.value) continue;
      try {
        store.put(parseExperimentRecord(model, entry.value));
        this.refused.delete(model);
      } catch (error) {
        this.refused.set(model, entry.value);
        onRejected(model);
        logger.warn({ model, reason: InfermeshError.from(error).message, keeping: store.get(model)?.sequence ?? null }, 'experiment record refused; routing keeps the previous one');
      }
    }
  }
}
