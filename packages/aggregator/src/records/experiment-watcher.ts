import { BlockingWatch, InfermeshError, NAME_PATTERN, type KvEntry, type KvStore, type Logger } from '@infermesh/shared';
import { discountOf, parseExperimentConfig, type Discount, type ExperimentConfig } from '@infermesh/gateway';

/** KV prefix of the experiment configs (the gateways read the same keys). */
export const EXPERIMENTS_PREFIX = 'experiments/';
/** Milliseconds one blocking query on the experiments waits before asking again. */
export const EXPERIMENTS_WAIT_MS = 30_000;
const EXPERIMENT_KEY = /^experiments\/([^/]+)$/;

/** An experiment the aggregator publishes a record for. */
export interface WatchedExperiment {
  model: string;
  experiment: ExperimentConfig;
  /** KV index of the config: changes with every write of it. */
  revision: number;
}

/** What the watcher needs. */
export interface ExperimentWatcherDependencies {
  kv: KvStore;
  logger: Logger;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  waitMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * The experiments under `experiments/`, followed with blocking queries. An invalid config is
 * refused with a WARN and the previous valid one of that model is kept (as the gateways do), so
 * a typo never changes how that model's evidence is discounted or published.
 */
export class ExperimentWatcher {
  private readonly experiments = new Map<string, WatchedExperiment>();
  private readonly refused = new Map<string, string>();
  private readonly watch: BlockingWatch<KvEntry[]>;
  /** Resolves after the first listing was applied. */
  readonly ready: Promise<void>;

  constructor(private readonly dependencies: ExperimentWatcherDependencies) {
    const { kv, logger, random, sleep } = dependencies;
    this.watch = new BlockingWatch({
      what: 'experiments',
      query: async (index, signal) => {
        const change = await kv.waitForPrefixChange(EXPERIMENTS_PREFIX, index, { waitMs: dependencies.waitMs ?? EXPERIMENTS_WAIT_MS, signal });
        return { index: change.index, value: change.entries };
      },
      apply: (entries) => this.apply(entries),
      logger,
      sleep,
      backoff: { random },
      ...(dependencies.onError ? { onError: dependencies.onError } : {}),
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

  /** Every experiment with a valid config. */
  all(): WatchedExperiment[] {
    return [...this.experiments.values()];
  }

  /** How a model's evidence fades: its Thompson policy's `discountPerHour`, else not at all. */
  discountFor(model: string): Discount | undefined {
    const policy = this.experiments.get(model)?.experiment.policy;
    return policy?.type === 'thompson' ? discountOf(policy) : undefined;
  }

  private apply(entries: readonly KvEntry[]): void {
    const seen = new Set<string>();
    for (const entry of entries) {
      const model = EXPERIMENT_KEY.exec(entry.key)?.[1];
      // A model name the registry would refuse cannot have a record either (stats/{model} names it).
      if (model === undefined || !NAME_PATTERN.test(model)) continue;
      seen.add(model);
      const held = this.experiments.get(model);
      if (held?.revision === entry.index || this.refused.get(model) === entry.value) continue;
      try {
        this.experiments.set(model, { model, experiment: parseExperimentConfig(model, entry.value), revision: entry.index });
        this.refused.delete(model);
      } catch (error) {
        this.refused.set(model, entry.value);
        this.dependencies.logger.warn({ model, reason: InfermeshError.from(error).message, keeping: held?.revision ?? null }, 'experiment config refused; keeping the previous one');
      }
    }
    for (const model of [...this.experiments.keys()]) if (!seen.has(model)) this.experiments.delete(model);
  }
}
