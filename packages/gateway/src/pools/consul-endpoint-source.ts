import { EventEmitter } from 'node:events';
import type Consul from 'consul';
import type { Logger } from '@infermesh/shared';
import type { EndpointSource } from './endpoint-source.js';
import type { WorkerEndpoint } from './worker-endpoint.js';

/** Consul service name workers register under (the worker's WORKER_SERVICE_NAME). */
export const WORKER_SERVICE_NAME = 'infermesh-worker';
/** Milliseconds one catalog blocking query waits for a change before asking again. */
export const CATALOG_WAIT_MS = 30_000;
/** Extra milliseconds a blocking query's HTTP request gets beyond its wait. */
export const BLOCKING_TIMEOUT_MARGIN_MS = 5_000;
/** First retry delay after a catalog error, milliseconds; doubles per failure. */
export const CATALOG_BACKOFF_BASE_MS = 250;
/** Longest retry delay after catalog errors, milliseconds. */
export const CATALOG_BACKOFF_MAX_MS = 10_000;

/** Which catalog instances belong to the pool. */
export interface ConsulEndpointFilter {
  model: string;
  /** When given, only instances following this deployment. */
  deployment?: string;
}

/** What the source needs besides the client; clock-like parts are injected so tests need no real waiting. */
export interface ConsulEndpointSourceDependencies {
  logger: Logger;
  /** Uniform in [0, 1): the backoff jitter. */
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  waitMs?: number;
}

/** One entry of `/v1/health/service/:service` (the fields read here). */
interface HealthServiceEntry {
  Node?: { Address?: string };
  Service?: { ID?: string; Address?: string; Port?: number; Meta?: Record<string, string> | null };
}

interface ResponseLike {
  headers: Record<string, string | undefined>;
}

/**
 * Passing `infermesh-worker` instances of one model (and deployment) from the Consul catalog,
 * followed with blocking queries. While Consul is unreachable the last known list stays in
 * use (WARN, full-jitter backoff) and the watch resumes from the last index.
 */
export class ConsulEndpointSource implements EndpointSource {
  private readonly abort = new AbortController();
  private readonly listeners: ((endpoints: readonly WorkerEndpoint[]) => void)[] = [];
  private readonly logger: Logger;
  private current: readonly WorkerEndpoint[] = [];
  private loop: Promise<void> | undefined;
  private resolveReady!: () => void;
  /** Resolves after the first successful listing. */
  readonly ready = new Promise<void>((resolve) => (this.resolveReady = resolve));

  constructor(
    private readonly consul: Pick<Consul, 'health'>,
    private readonly filter: ConsulEndpointFilter,
    private readonly dependencies: ConsulEndpointSourceDependencies,
  ) {
    this.logger = dependencies.logger.child({ component: 'consul-endpoint-source', model: filter.model, deployment: filter.deployment });
  }

  /** Starts the watch in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Cancels the blocking query in flight and waits for the watch to end. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  /** The last successful listing (kept while Consul is unreachable). */
  endpoints(): readonly WorkerEndpoint[] {
    return this.current;
  }

  /** Calls `listener` with the full list whenever the matching instances change. */
  onChange(listener: (endpoints: readonly WorkerEndpoint[]) => void): void {
    this.listeners.push(listener);
  }

  private async run(): Promise<void> {
    const { random, sleep } = this.dependencies;
    const signal = this.abort.signal;
    let index = 0;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const listing = await this.query(index, signal);
        if (signal.aborted) break;
        if (failures > 0) this.logger.info({ failures }, 'Consul reachable again; resuming from the last index');
        failures = 0;
        this.publish(listing.endpoints);
        this.resolveReady();
        index = listing.index;
      } catch (error) {
        if (signal.aborted) break;
        failures += 1;
        const delay = random() * Math.min(CATALOG_BACKOFF_MAX_MS, CATALOG_BACKOFF_BASE_MS * 2 ** Math.min(failures, 16));
        this.logger.warn(
          { failures, retryInMs: Math.round(delay), instances: this.current.length, reason: (error as Error).message },
          'Consul catalog unreachable; keeping the last known instances, retrying',
        );
        await sleep(delay, signal).catch(() => undefined);
      }
    }
  }

  /** One blocking query from `index`; answers the matching instances and the index to block on next. */
  private async query(index: number, signal: AbortSignal): Promise<{ endpoints: WorkerEndpoint[]; index: number }> {
    const waitMs = this.dependencies.waitMs ?? CATALOG_WAIT_MS;
    // With includeResponse the client answers [response, body]: X-Consul-Index is in the headers.
    const context = Object.assign(new EventEmitter(), { includeResponse: true });
    const cancel = () => context.emit('cancel');
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const [response, entries] = (await this.consul.health.service({
        service: WORKER_SERVICE_NAME,
        passing: true,
        index,
        wait: `${Math.max(1, Math.round(waitMs / 1000))}s`,
        timeout: waitMs + BLOCKING_TIMEOUT_MARGIN_MS,
        ctx: context,
      } as never)) as unknown as [ResponseLike, HealthServiceEntry[] | null];
      const headerIndex = Number(response.headers['x-consul-index']);
      // An index that goes backwards means Consul's state was reset: start over from 0.
      const nextIndex = Number.isFinite(headerIndex) && headerIndex > 0 ? (headerIndex < index ? 0 : headerIndex) : index;
      return { endpoints: this.select(entries ?? []), index: nextIndex };
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  private select(entries: readonly HealthServiceEntry[]): WorkerEndpoint[] {
    const selected: WorkerEndpoint[] = [];
    for (const entry of entries) {
      const service = entry.Service;
      const meta = service?.Meta ?? {};
      if (service?.ID === undefined || service.Port === undefined || meta.model !== this.filter.model) continue;
      if (this.filter.deployment !== undefined && meta.deployment !== this.filter.deployment) continue;
      // An empty service address means "the node's address" in Consul.
      const host = service.Address || entry.Node?.Address;
      if (!host) continue;
      selected.push({ id: service.ID, address: `${host.includes(':') ? `[${host}]` : host}:${service.Port}`, meta: { ...meta } });
    }
    return selected.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Replaces the list and tells listeners, unless nothing changed (a blocking query that timed out). */
  private publish(endpoints: readonly WorkerEndpoint[]): void {
    if (JSON.stringify(endpoints) === JSON.stringify(this.current)) return;
    const before = new Set(this.current.map((endpoint) => endpoint.id));
    const after = new Set(endpoints.map((endpoint) => endpoint.id));
    this.logger.info(
      {
        instances: endpoints.length,
        joined: [...after].filter((id) => !before.has(id)),
        left: [...before].filter((id) => !after.has(id)),
      },
      'worker instances changed',
    );
    this.current = endpoints;
    for (const listener of this.listeners) listener(endpoints);
  }
}
