import { BlockingWatch, deploymentKey, InfermeshError, parseDeployment, type EventPublisher, type Logger, type ModelRegistry } from '@infermesh/shared';
import { modelReloadedEvent, modelReloadFailedEvent } from './lifecycle-events.js';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { LoadedModel } from '../runtime/loaded-model.js';
import type { ModelLoader } from './model-loader.js';
import type { ModelSlot } from './model-slot.js';

/** Milliseconds one blocking query waits for a change before asking again. */
export const REGISTRY_WAIT_MS = 30_000;

/** What the follower needs; clock-like parts are injected so tests need no real waiting. */
export interface DeploymentFollowerDependencies {
  registry: ModelRegistry;
  loader: ModelLoader;
  slot: ModelSlot;
  metrics: WorkerMetrics;
  logger: Logger;
  /** Uniform in [0, 1): the backoff jitter. */
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called after each successful swap (catalog registration updates its meta here). */
  onSwap?: (model: LoadedModel) => void;
  /** Where `infermesh.model.reloaded` and `infermesh.model.reload_failed` go. */
  events?: EventPublisher;
  /** This worker's address (host:port) in lifecycle events. */
  worker?: string;
  waitMs?: number;
}

/**
 * Follows `models/{model}/deployments/{deployment}` and swaps in each version it names.
 * A version that fails to fetch, verify, load or warm up is skipped with a WARN and counted;
 * the serving version stays until the next change. Registry errors back off with full jitter
 * and resume from the last index, so no change is missed.
 */
export class DeploymentFollower {
  private readonly watch: BlockingWatch<string | undefined>;
  private resolveReady!: () => void;
  /** Resolves when the first version is serving. */
  readonly ready = new Promise<void>((resolve) => (this.resolveReady = resolve));

  constructor(
    private readonly model: string,
    private readonly deployment: string,
    private readonly dependencies: DeploymentFollowerDependencies,
  ) {
    const { registry, logger, metrics, random, sleep } = dependencies;
    const key = deploymentKey(model, deployment);
    this.watch = new BlockingWatch({
      what: `deployment ${model}/${deployment}`,
      query: async (index, signal) => {
        const change = await registry.kv.waitForChange(key, index, { waitMs: dependencies.waitMs ?? REGISTRY_WAIT_MS, signal });
        return { index: change.index, value: change.entry?.value };
      },
      // The index advances only once the change was handled, so a registry error while
      // handling it makes the next query return the same change again.
      apply: (value) => this.apply(value),
      logger,
      sleep,
      backoff: { random },
      onError: () => metrics.registryErrors.inc(),
    });
  }

  /** Starts following in the background. */
  start(): void {
    this.watch.start();
  }

  /** Stops following and waits for the loop to end (a load in progress finishes first). */
  async stop(): Promise<void> {
    await this.watch.stop();
  }

  /** Loads the version a deployment value names; only registry errors escape. */
  private async apply(value: string | undefined): Promise<void> {
    const { registry, loader, slot, metrics, logger } = this.dependencies;
    const where = { model: this.model, deployment: this.deployment };
    if (value === undefined) {
      logger.warn(where, 'deployment does not exist (yet); waiting for a promote');
      return;
    }
    let version: string;
    try {
      version = parseDeployment(`deployment ${this.model}/${this.deployment}`, value).version;
    } catch (error) {
      this.reject(where, undefined, error);
      return;
    }
    const serving = slot.current();
    if (serving?.version === version) return;
    const ref = await registry.version(this.model, version);
    if (ref === undefined) {
      this.reject(where, version, new InfermeshError('VERSION_NOT_FOUND', `deployment names version '${version}', which is not published`));
      return;
    }
    try {
      const { loaded, timings } = await loader.load(this.model, version, ref, serving?.runtime.inputs);
      slot.swap(loaded);
      for (const [stage, ms] of Object.entries(timings)) metrics.reloadStageDuration.observe({ stage: stage.replace(/Ms$/, '') }, ms / 1000);
      metrics.reloads.inc();
      metrics.setServing(loaded);
      logger.info({ ...where, version, previous: serving?.version, ...roundAll(timings) }, 'swapped in new version');
      void this.dependencies.events?.publish(modelReloadedEvent(this.reloadContext(serving?.version), version, timings));
      this.dependencies.onSwap?.(loaded);
      this.resolveReady();
    } catch (error) {
      this.reject(where, version, error);
    }
  }

  private reloadContext(fromVersion: string | undefined) {
    return { model: this.model, deployment: this.deployment, worker: this.dependencies.worker ?? 'unknown', fromVersion: fromVersion ?? null };
  }

  private reject(where: object, version: string | undefined, error: unknown): void {
    const typed = InfermeshError.from(error);
    void this.dependencies.events?.publish(modelReloadFailedEvent(this.reloadContext(this.dependencies.slot.current()?.version), version, typed.code, typed.message));
    this.dependencies.metrics.reloadFailures.inc({ reason: typed.code });
    this.dependencies.logger.warn(
      { ...where, version, serving: this.dependencies.slot.current()?.version, code: typed.code, reason: typed.message },
      'new version rejected; keeping the current one',
    );
  }
}

function roundAll(timings: object): Record<string, number> {
  return Object.fromEntries(Object.entries(timings).map(([key, value]) => [key, Math.round(value * 10) / 10]));
}
