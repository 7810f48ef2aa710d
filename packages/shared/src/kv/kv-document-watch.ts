import type { Logger } from 'pino';
import { InfermeshError } from '../errors/infermesh-error.js';
import { BlockingWatch } from '../watch/blocking-watch.js';
import type { KvEntry, KvStore } from './kv-store.js';

/** Milliseconds one blocking query on a document prefix waits before asking again. */
export const DOCUMENT_WATCH_WAIT_MS = 30_000;

/** Options of a {@link KvDocumentWatch}. */
export interface KvDocumentWatchOptions<T> {
  /** For logs, e.g. `experiment records`. */
  what: string;
  kv: KvStore;
  /** Every key `<prefix><name>` is one document (deeper keys are ignored), e.g. `stats/`. */
  prefix: string;
  /** The names worth reading (e.g. valid model names); all by default. */
  accepts?: (name: string) => boolean;
  /** The document a value holds; throws when it is invalid. */
  parse: (name: string, value: string) => T;
  /** A new or changed valid document. */
  onDocument: (name: string, document: T, entry: KvEntry) => void;
  /** A new or changed invalid one: the caller keeps what it held. Told once per value. */
  onRefused: (name: string, error: InfermeshError) => void;
  /** After each listing, with the names it held (so callers can forget deleted documents). */
  onListed?: (names: ReadonlySet<string>) => void;
  logger: Logger;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  waitMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Follows a KV prefix of JSON documents, one per name, with blocking queries: each new or
 * changed value is parsed once, valid ones are handed on, and an invalid one is refused once
 * (its repeats are not parsed again), so a bad write never replaces what the caller holds.
 */
export class KvDocumentWatch<T> {
  private readonly watch: BlockingWatch<KvEntry[]>;
  /** Per name, the KV index of the value last handled, valid or not. */
  private readonly handled = new Map<string, number>();
  /** Resolves after the first listing was applied. */
  readonly ready: Promise<void>;

  constructor(private readonly options: KvDocumentWatchOptions<T>) {
    const { kv, prefix, logger, random, sleep } = options;
    this.watch = new BlockingWatch({
      what: options.what,
      query: async (index, signal) => {
        const change = await kv.waitForPrefixChange(prefix, index, { waitMs: options.waitMs ?? DOCUMENT_WATCH_WAIT_MS, signal });
        return { index: change.index, value: change.entries };
      },
      apply: (entries) => this.apply(entries),
      logger,
      sleep,
      backoff: { random },
      ...(options.onError ? { onError: options.onError } : {}),
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
    const { prefix, accepts, parse, onDocument, onRefused, onListed } = this.options;
    const names = new Set<string>();
    for (const entry of entries) {
      const name = entry.key.slice(prefix.length);
      if (!entry.key.startsWith(prefix) || name === '' || name.includes('/') || (accepts !== undefined && !accepts(name))) continue;
      names.add(name);
      if (this.handled.get(name) === entry.index) continue;
      this.handled.set(name, entry.index);
      let document: T;
      try {
        document = parse(name, entry.value);
      } catch (error) {
        onRefused(name, InfermeshError.from(error));
        continue;
      }
      onDocument(name, document, entry);
    }
    for (const name of [...this.handled.keys()]) if (!names.has(name)) this.handled.delete(name);
    onListed?.(names);
  }
}
