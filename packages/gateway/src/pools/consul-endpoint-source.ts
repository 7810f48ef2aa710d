import { EventEmitter } from 'node:events';
import type Consul from 'consul';
import { BlockingWatch, WORKER_SERVICE_NAME, type Logger } from '@infermesh/shared';
import type { EndpointSource } from './endpoint-source.js';
import type { WorkerEndpoint } from './worker-endpoint.js';

/** Milliseconds one catalog blocking query waits for a change before asking again. */
export const CATALOG_WAIT_MS = 30_000;
/** Extra milliseconds a blocking query's HTTP request gets beyond its wait. */
export const BLOCKING_TIMEOUT_MARGIN_MS = 5_000;

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
  private readonly watch: BlockingWatch<WorkerEndpoint[]>;
  private readonly listeners: ((endpoints: readonly WorkerEndpoint[]) => void)[] = [];
  private readonly logger: Logger;
  private current: readonly WorkerEndpoint[] = [];
  /** Resolves after the first successful listing. */
  readonly ready: Promise<void>;

  constructor(
    private readonly consul: Pick<Consul, 'health'>,
    private readonly filter: ConsulEndpointFilter,
    private readonly dependencies: ConsulEndpointSourceDependencies,
  ) {
    this.logger = dependencies.logger;
    this.watch = new BlockingWatch({
      what: `Consul catalog of ${WORKER_SERVICE_NAME} ${filter.model}/${filter.deployment ?? '*'}`,
      query: (index, signal) => this.query(index, signal),
      apply: (endpoints) => this.publish(endpoints),
      logger: this.logger,
      sleep: dependencies.sleep,
      backoff: { random: dependencies.random },
    });
    this.ready = this.watch.ready;
  }

  /** Starts the watch in the background. */
  start(): void {
    this.watch.start();
  }

  /** Cancels the blocking query in flight and waits for the watch to end. */
  async stop(): Promise<void> {
    await this.watch.stop();
  }

  /** The last successful listing (kept while Consul is unreachable). */
  endpoints(): readonly WorkerEndpoint[] {
    return this.current;
  }

  /** Calls `listener` with the full list whenever the matching instances change. */
  onChange(listener: (endpoints: readonly WorkerEndpoint[]) => void): void {
    this.listeners.push(listener);
  }

  /** One blocking query from `index`; answers the matching instances and the index to block on next. */
  private async query(index: number, signal: AbortSignal): Promise<{ value: WorkerEndpoint[]; index: number }> {
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
      return { value: this.select(entries ?? []), index: nextIndex };
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
