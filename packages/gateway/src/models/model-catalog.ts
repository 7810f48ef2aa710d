import { InfermeshError, type KvStore, type Logger } from '@infermesh/shared';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { ServedModel } from './served-model.js';

/** Milliseconds one blocking query on the model configs waits before asking again. */
export const CONFIG_WAIT_MS = 30_000;
/** Longest retry delay after registry errors, milliseconds. */
const BACKOFF_MAX_MS = 10_000;
/** First retry delay after a registry error, milliseconds. */
const BACKOFF_BASE_MS = 250;
/** A replaced pool is closed this long after its model stopped using it, so in-flight calls finish. */
export const RETIRED_POOL_GRACE_MS = 30_000;

const CONFIG_KEY = /^models\/([^/]+)\/config$/;

/** What the catalog needs. */
export interface ModelCatalogDependencies {
  kv: KvStore;
  /** Builds a served model from a config text; throws INVALID_CONFIG for a bad one. */
  build(name: string, source: string, previous: ServedModel | undefined): ServedModel;
  /** Releases what `build` created that the new model does not reuse (its pool). */
  retire(model: ServedModel, replacement: ServedModel | undefined): Promise<void>;
  metrics: GatewayMetrics;
  logger: Logger;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  waitMs?: number;
}

/**
 * The models the gateway serves, from `models/{model}/config` in the registry, watched and
 * applied without restart. An invalid config is rejected with a logged reason and the
 * previous version of that model keeps serving.
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
    await Promise.all(this.all().map((model) => this.dependencies.retire(model, undefined)));
    this.models.clear();
  }

  private async run(): Promise<void> {
    const { kv, logger, random, sleep } = this.dependencies;
    const signal = this.abort.signal;
    let index = 0;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const change = await kv.waitForPrefixChange('models/', index, { waitMs: this.dependencies.waitMs ?? CONFIG_WAIT_MS, signal });
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
    const seen = new Set<string>();
    for (const entry of entries) {
      const name = CONFIG_KEY.exec(entry.key)?.[1];
      if (name === undefined) continue;
      seen.add(name);
      const previous = this.models.get(name);
      if (previous?.source === entry.value || this.rejected.get(name) === entry.value) continue;
      try {
        const model = build(name, entry.value, previous);
        this.models.set(name, model);
        this.rejected.delete(name);
        logger.info({ model: name, replaced: previous !== undefined }, 'model config applied');
        if (previous) void retire(previous, model);
      } catch (error) {
        const typed = InfermeshError.from(error);
        this.rejected.set(name, entry.value);
        metrics.configRejections.inc({ model: name });
        logger.warn({ model: name, code: typed.code, reason: typed.message, keeping: previous !== undefined }, 'model config rejected; keeping the previous one');
      }
    }
    for (const [name, model] of this.models) {
      if (seen.has(name)) continue;
      this.models.delete(name);
      logger.info({ model: name }, 'model config removed');
      void retire(model, undefined);
    }
  }
}
