import { BlockingWatch, EXPERIMENTS_PREFIX, InfermeshError, type KvEntry, type KvStore, type Logger } from '@infermesh/shared';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { ServedModel } from './served-model.js';

/** Milliseconds one blocking query on the model configs waits before asking again. */
export const CONFIG_WAIT_MS = 30_000;
const CONFIG_KEY = /^models\/([^/]+)\/config$/;
const EXPERIMENT_KEY = new RegExp(`^${EXPERIMENTS_PREFIX}([^/]+)$`);

/** One read of the registry, with the ticket taken when the read started. */
interface RegistryRead {
  ticket: number;
  entries: KvEntry[];
}

/** What a served model is built from: its config and, if it has one, its experiment. */
export interface ModelSources {
  config: string;
  experiment?: string;
}

/** What the catalog needs. */
export interface ModelCatalogDependencies {
  kv: KvStore;
  /** Builds a served model from its config (and experiment) texts; throws INVALID_CONFIG for a bad one. */
  build(name: string, sources: ModelSources, previous: ServedModel | undefined): ServedModel;
  /** Releases what a model no longer served holds (its pools). */
  retire(model: ServedModel): void;
  /** Called after a change to the served models was applied. */
  onChange?: () => void;
  metrics: GatewayMetrics;
  logger: Logger;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  waitMs?: number;
}

/**
 * The models the gateway serves, from `models/{model}/config` and `experiments/{model}` in the
 * registry, watched and applied without restart. An invalid config or experiment is rejected
 * with a logged reason and the previous version of that model keeps serving.
 */
export class ModelCatalog {
  private readonly models = new Map<string, ServedModel>();
  private readonly rejected = new Map<string, string>();
  private readonly watch: BlockingWatch<RegistryRead>;
  private readonly experimentRevisions = new Map<string, number>();
  // Every read of the registry takes a ticket when it starts; a read that started before the
  // last applied one is stale (a PUT's own read may have overtaken it) and is read again.
  private tickets = 0;
  private appliedTicket = 0;
  /** Resolves after the first successful read of the configs. */
  readonly ready: Promise<void>;

  constructor(private readonly dependencies: ModelCatalogDependencies) {
    const { kv, logger, random, sleep } = dependencies;
    this.watch = new BlockingWatch({
      what: 'model configs and experiments',
      // The whole registry: configs under models/, experiments under experiments/.
      query: async (index, signal) => {
        const ticket = ++this.tickets;
        const change = await kv.waitForPrefixChange('', index, { waitMs: dependencies.waitMs ?? CONFIG_WAIT_MS, signal });
        return { index: change.index, value: { ticket, entries: change.entries } };
      },
      apply: (read) => this.applyRead(read),
      logger,
      sleep,
      backoff: { random },
    });
    this.ready = this.watch.ready;
  }

  /** The served model named `name`, if configured. */
  get(name: string): ServedModel | undefined {
    return this.models.get(name);
  }

  /** Every served model. */
  all(): ServedModel[] {
    return [...this.models.values()];
  }

  /** The config and experiment texts `model` is served from now. */
  sourcesOf(model: string): ModelSources | undefined {
    const served = this.models.get(model);
    return served === undefined ? undefined : (JSON.parse(served.source) as ModelSources);
  }

  /** KV index of the experiment `model` serves now (changes with every write of it); undefined without one. */
  experimentRevision(model: string): number | undefined {
    return this.experimentRevisions.get(model);
  }

  /**
   * Reads the registry now and applies it before resolving: a change this process just wrote
   * (a PUT of an experiment) holds for every request answered afterwards, and a watch result
   * read before the write can no longer undo it.
   */
  async refresh(): Promise<void> {
    const ticket = ++this.tickets;
    await this.applyRead({ ticket, entries: await this.dependencies.kv.list('') });
  }

  /** Starts watching in the background. */
  start(): void {
    this.watch.start();
  }

  /** Stops watching and retires every model. */
  async stop(): Promise<void> {
    await this.watch.stop();
    for (const model of this.all()) this.dependencies.retire(model);
    this.models.clear();
  }

  private async applyRead(read: RegistryRead): Promise<void> {
    if (read.ticket < this.appliedTicket) return this.refresh();
    this.appliedTicket = read.ticket;
    this.apply(read.entries);
  }

  private apply(entries: readonly KvEntry[]): void {
    const { build, retire, logger, metrics } = this.dependencies;
    const sources = new Map<string, ModelSources>();
    for (const entry of entries) {
      const configName = CONFIG_KEY.exec(entry.key)?.[1];
      if (configName !== undefined) sources.set(configName, { ...sources.get(configName), config: entry.value });
    }
    for (const entry of entries) {
      const experimentName = EXPERIMENT_KEY.exec(entry.key)?.[1];
      const existing = experimentName === undefined ? undefined : sources.get(experimentName);
      if (existing !== undefined) existing.experiment = entry.value;
    }
    const revisions = new Map(entries.flatMap((entry) => {
      const name = EXPERIMENT_KEY.exec(entry.key)?.[1];
      return name === undefined ? [] : [[name, entry.index] as const];
    }));
    let appliedAny = false;
    for (const [name, modelSources] of sources) {
      const signature = JSON.stringify(modelSources);
      const previous = this.models.get(name);
      if (previous?.source === signature) {
        // The same texts rewritten still move the revision clients wait for.
        this.setRevision(name, modelSources.experiment === undefined ? undefined : revisions.get(name));
        continue;
      }
      if (this.rejected.get(name) === signature) continue;
      try {
        const model = build(name, modelSources, previous);
        this.models.set(name, model);
        this.rejected.delete(name);
        logger.info({ model: name, replaced: previous !== undefined, experiment: modelSources.experiment !== undefined }, 'model config applied');
        this.setRevision(name, modelSources.experiment === undefined ? undefined : revisions.get(name));
        if (previous) retire(previous);
        appliedAny = true;
      } catch (error) {
        const typed = InfermeshError.from(error);
        this.rejected.set(name, signature);
        metrics.configRejections.inc({ model: name });
        logger.warn({ model: name, code: typed.code, reason: typed.message, keeping: previous !== undefined }, 'model config rejected; keeping the previous one');
      }
    }
    let changed = false;
    for (const [name, model] of this.models) {
      if (sources.has(name)) continue;
      this.models.delete(name);
      this.setRevision(name, undefined);
      logger.info({ model: name }, 'model config removed');
      retire(model);
      changed = true;
    }
    if (changed || appliedAny) this.dependencies.onChange?.();
  }

  private setRevision(model: string, revision: number | undefined): void {
    if (revision === undefined) this.experimentRevisions.delete(model);
    else this.experimentRevisions.set(model, revision);
  }
}
