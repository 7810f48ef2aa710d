import { InfermeshError, type KvStore, type Logger } from '@infermesh/shared';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { ServedModel } from './served-model.js';

/** Milliseconds one blocking query on the model configs waits before asking again. */
export const CONFIG_WAIT_MS = 30_000;
/** Longest retry delay after registry errors, milliseconds. */
const BACKOFF_MAX_MS = 10_000;
/** First retry delay after a registry error, milliseconds. */
const BACKOFF_BASE_MS = 250;
const CONFIG_KEY = /^models\/([^/]+)\/config$/;
const EXPERIMENT_KEY = /^experiments\/([^/]+)$/;

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
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private resolveReady!: () => void;
  /** Resolves after the first successful read of the configs. */
  readonly ready = new Promise<void>((resolve) => (this.resolveReady = resolve));

  constructor(private readonly dependencies: ModelCatalogDependencies) {}

  /** The served model named `name`, if configured. */
  get(name: string): ServedModel | undefined {
    return this.models.get(name);
  }

  /** Every served model. */
  all(): ServedModel[] {
    return [...this.models.values()];
  }

  /** Starts watching in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stops watching and retires every model. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    for (const model of this.all()) this.dependencies.retire(model);
    this.models.clear();
  }

  private async run(): Promise<void> {
    const { kv, logger, random, sleep } = this.dependencies;
    const signal = this.abort.signal;
    let index = 0;
    let failures = 0;
    while (!signal.aborted) {
      try {
        // The whole registry: configs under models/, experiments under experiments/.
        const change = await kv.waitForPrefixChange('', index, { waitMs: this.dependencies.waitMs ?? CONFIG_WAIT_MS, signal });
        if (signal.aborted) break;
        failures = 0;
        if (change.index !== index || index === 0) await this.apply(change.entries);
        index = change.index;
        this.resolveReady();
      } catch (error) {
        if (signal.aborted) break;
        failures += 1;
        const delay = random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures, 16));
        logger.warn({ failures, retryInMs: Math.round(delay), reason: (error as Error).message }, 'model configs unreachable; serving the last known ones');
        await sleep(delay, signal).catch(() => undefined);
      }
    }
  }

  private async apply(entries: readonly { key: string; value: string }[]): Promise<void> {
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
    for (const [name, modelSources] of sources) {
      const signature = JSON.stringify(modelSources);
      const previous = this.models.get(name);
      if (previous?.source === signature || this.rejected.get(name) === signature) continue;
      try {
        const model = build(name, modelSources, previous);
        this.models.set(name, model);
        this.rejected.delete(name);
        logger.info({ model: name, replaced: previous !== undefined, experiment: modelSources.experiment !== undefined }, 'model config applied');
        if (previous) retire(previous);
      } catch (error) {
        const typed = InfermeshError.from(error);
        this.rejected.set(name, signature);
        metrics.configRejections.inc({ model: name });
        logger.warn({ model: name, code: typed.code, reason: typed.message, keeping: previous !== undefined }, 'model config rejected; keeping the previous one');
      }
    }
    for (const [name, model] of this.models) {
      if (sources.has(name)) continue;
      this.models.delete(name);
      logger.info({ model: name }, 'model config removed');
      retire(model);
    }
  }
}
