import { EXPERIMENTS_PREFIX, KvDocumentWatch, NAME_PATTERN, type KvStore, type Logger } from '@infermesh/shared';
import { discountOf, parseExperimentConfig, type Discount, type ExperimentConfig } from '@infermesh/experiments';

/** Milliseconds one blocking query on the experiments waits before asking again. */
export const EXPERIMENTS_WAIT_MS = 30_000;

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
  private readonly watch: KvDocumentWatch<ExperimentConfig>;
  /** Resolves after the first listing was applied. */
  readonly ready: Promise<void>;

  constructor(dependencies: ExperimentWatcherDependencies) {
    const { kv, logger, random, sleep } = dependencies;
    this.watch = new KvDocumentWatch({
      what: 'experiments',
      kv,
      prefix: EXPERIMENTS_PREFIX,
      // A model name the registry would refuse cannot have a record either (stats/{model} names it).
      accepts: (model) => NAME_PATTERN.test(model),
      parse: parseExperimentConfig,
      onDocument: (model, experiment, entry) => this.experiments.set(model, { model, experiment, revision: entry.index }),
      onRefused: (model, error) => logger.warn({ model, reason: error.message, keeping: this.experiments.get(model)?.revision ?? null }, 'experiment config refused; keeping the previous one'),
      onListed: (models) => {
        for (const model of [...this.experiments.keys()]) if (!models.has(model)) this.experiments.delete(model);
      },
      logger,
      random,
      sleep,
      waitMs: dependencies.waitMs ?? EXPERIMENTS_WAIT_MS,
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
}
