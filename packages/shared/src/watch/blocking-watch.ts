import type { Logger } from '../logging/create-logger.js';
import { ExponentialBackoff, type BackoffOptions } from './exponential-backoff.js';

/** What one blocking query returns: the value seen and the index to block on next. */
export interface WatchResult<T> {
  index: number;
  value: T;
}

/** What a {@link BlockingWatch} needs. */
export interface BlockingWatchOptions<T> {
  /** What is watched, for logs (e.g. "deployment churn/prod"). */
  what: string;
  /** One blocking query: resolves when the state differs from `index`, or after its wait with the same index. */
  query(index: number, signal: AbortSignal): Promise<WatchResult<T>>;
  /** Handles a new state; the index advances only once it returned, so a throw makes the next query see the state again. */
  apply(value: T, index: number): Promise<void> | void;
  logger: Logger;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  backoff: BackoffOptions;
  /** Called on each failed query or apply (a metric, typically). */
  onError?: (error: unknown) => void;
}

/**
 * The one loop behind every watcher of Consul (KV keys, KV prefixes, the catalog) and of the
 * file registry: blocking queries from the last index, the handler called when the index moves
 * (and on the first answer), failures logged at WARN and retried with full-jitter backoff,
 * resuming from the last index so no change is missed. Never two queries at once.
 */
export class BlockingWatch<T> {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private resolveReady!: () => void;
  /** Resolves after the first state was applied. */
  readonly ready = new Promise<void>((resolve) => (this.resolveReady = resolve));

  constructor(private readonly options: BlockingWatchOptions<T>) {}

  /** Starts watching in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Cancels the query in flight and waits for the loop to end (an apply in progress finishes first). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { what, query, apply, logger, sleep } = this.options;
    const backoff = new ExponentialBackoff(this.options.backoff);
    const signal = this.abort.signal;
    let index = 0;
    let applied = false;
    while (!signal.aborted) {
      try {
        const result = await query(index, signal);
        if (signal.aborted) break;
        if (backoff.failures > 0) logger.info({ what, failures: backoff.failures }, 'reachable again; resuming from the last index');
        backoff.succeed();
        if (result.index === index && applied) continue;
        await apply(result.value, result.index);
        index = result.index;
        applied = true;
        this.resolveReady();
      } catch (error) {
        if (signal.aborted) break;
        this.options.onError?.(error);
        const delay = backoff.fail();
        logger.warn({ what, failures: backoff.failures, retryInMs: Math.round(delay), reason: (error as Error).message }, 'watch failed; keeping the last known state, retrying');
        await sleep(delay, signal).catch(() => undefined);
      }
    }
  }
}
