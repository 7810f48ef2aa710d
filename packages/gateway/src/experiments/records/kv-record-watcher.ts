import { KvDocumentWatch, RECORDS_PREFIX, type KvStore, type Logger } from '@infermesh/shared';
import { parseExperimentRecord, type ExperimentRecord, type RecordStore } from '@infermesh/experiments';

/** Milliseconds one blocking query on the records waits before asking again. */
export const RECORDS_WAIT_MS = 30_000;

/** What the watcher needs. */
export interface KvRecordWatcherDependencies {
  kv: KvStore;
  /** Where valid records go (the records this gateway routes by, or anything else that wants to see them). */
  store: Pick<RecordStore, 'put' | 'get'>;
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
  private readonly watch: KvDocumentWatch<ExperimentRecord>;
  /** Resolves after the first listing was applied. */
  readonly ready: Promise<void>;

  constructor(dependencies: KvRecordWatcherDependencies) {
    const { kv, store, logger, random, sleep, onRejected } = dependencies;
    this.watch = new KvDocumentWatch({
      what: 'experiment records',
      kv,
      prefix: RECORDS_PREFIX,
      parse: parseExperimentRecord,
      onDocument: (_model, record) => store.put(record),
      onRefused: (model, error) => {
        onRejected(model);
        logger.warn({ model, reason: error.message, keeping: store.get(model)?.sequence ?? null }, 'experiment record refused; routing keeps the previous one');
      },
      logger,
      random,
      sleep,
      waitMs: dependencies.waitMs ?? RECORDS_WAIT_MS,
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
}
