import { EventEmitter } from 'node:events';
import Consul from 'consul';
import { InfermeshError } from '../errors/infermesh-error.js';
import type { KvChange, KvEntry, KvPrefixChange, KvStore, WaitOptions } from './kv-store.js';

/** Milliseconds an ordinary (non-blocking) Consul request may take. */
const REQUEST_TIMEOUT_MS = 5_000;
/** Extra milliseconds a blocking query's HTTP request gets beyond its wait. */
const BLOCKING_TIMEOUT_MARGIN_MS = 5_000;

interface ConsulItem {
  Key: string;
  Value: string | null;
  ModifyIndex: number;
}

interface ResponseLike {
  headers: Record<string, string | undefined>;
}

/** Parses `http://host:port` (what CONSUL_HTTP_ADDR holds) into client options. */
export function consulClientOptions(httpAddr: string): { host: string; port: number; secure: boolean } {
  const url = new URL(httpAddr.includes('://') ? httpAddr : `http://${httpAddr}`);
  const secure = url.protocol === 'https:';
  return { host: url.hostname, port: Number(url.port || (secure ? 443 : 8500)), secure };
}

/** Creates a Consul client for an address like `http://127.0.0.1:8500`. */
export function createConsulClient(httpAddr: string, token?: string): Consul {
  return new Consul({ ...consulClientOptions(httpAddr), ...(token ? { defaults: { token } } : {}) });
}

/** Consul KV under a key prefix; blocking queries carry the index so a watcher resumes where it left off. */
export class ConsulKvStore implements KvStore {
  readonly description: string;

  constructor(
    private readonly consul: Consul,
    private readonly prefix: string,
  ) {
    this.description = `consul kv ${prefix}`;
  }

  private fullKey(key: string): string {
    return `${this.prefix}${key}`;
  }

  private toEntry(item: ConsulItem): KvEntry {
    return { key: item.Key.slice(this.prefix.length), value: item.Value ?? '', index: item.ModifyIndex };
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const item = (await this.request(() => this.consul.kv.get({ key: this.fullKey(key), timeout: REQUEST_TIMEOUT_MS } as never))) as ConsulItem | null;
    return item ? this.toEntry(item) : undefined;
  }

  async list(prefix: string): Promise<KvEntry[]> {
    const items = (await this.request(() =>
      this.consul.kv.get({ key: this.fullKey(prefix), recurse: true, timeout: REQUEST_TIMEOUT_MS } as never),
    )) as ConsulItem[] | ConsulItem | null;
    if (!items) return [];
    return (Array.isArray(items) ? items : [items]).map((item) => this.toEntry(item));
  }

  async keys(prefix: string): Promise<string[]> {
    const keys = (await this.request(() =>
      // Consul answers 404 for a prefix with no key under it, which the client throws: that is an empty list.
      this.consul.kv.keys({ key: this.fullKey(prefix), timeout: REQUEST_TIMEOUT_MS } as never).catch((error: { response?: { statusCode?: number } }) => {
        if (error.response?.statusCode === 404) return [];
        throw error;
      }),
    )) as string[] | null | undefined;
    return (keys ?? []).map((key) => key.slice(this.prefix.length)).sort();
  }

  async compareAndDelete(key: string, index: number): Promise<boolean> {
    return (await this.request(() => this.consul.kv.del({ key: this.fullKey(key), cas: index, timeout: REQUEST_TIMEOUT_MS } as never))) === true;
  }

  async compareAndSet(key: string, value: string, index: number): Promise<boolean> {
    return (await this.request(() => this.consul.kv.set({ key: this.fullKey(key), value, cas: index, timeout: REQUEST_TIMEOUT_MS } as never))) === true;
  }

  async waitForChange(key: string, index: number, options: WaitOptions): Promise<KvChange> {
    const { body, index: nextIndex } = await this.blockingGet(this.fullKey(key), false, index, options);
    const item = body as ConsulItem | null | undefined;
    return { entry: item ? this.toEntry(item) : undefined, index: nextIndex };
  }

  async waitForPrefixChange(prefix: string, index: number, options: WaitOptions): Promise<KvPrefixChange> {
    const { body, index: nextIndex } = await this.blockingGet(this.fullKey(prefix), true, index, options);
    const items = (body ?? []) as ConsulItem[] | ConsulItem;
    return { entries: (Array.isArray(items) ? items : [items]).map((item) => this.toEntry(item)), index: nextIndex };
  }

  private async blockingGet(key: string, recurse: boolean, index: number, options: WaitOptions): Promise<{ body: unknown; index: number }> {
    // The client answers [response, data] when its context asks for the response: we need
    // X-Consul-Index, which is the index to block on even when the key does not exist.
    const context = Object.assign(new EventEmitter(), { includeResponse: true });
    const abort = () => context.emit('cancel');
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      const [response, body] = (await this.request(() =>
        this.consul.kv.get({
          key,
          ...(recurse ? { recurse: true } : {}),
          index,
          wait: `${Math.max(1, Math.round(options.waitMs / 1000))}s`,
          timeout: options.waitMs + BLOCKING_TIMEOUT_MARGIN_MS,
          ctx: context,
        } as never),
      )) as unknown as [ResponseLike, unknown];
      const headerIndex = Number(response.headers['x-consul-index']);
      // An index that goes backwards means Consul's state was reset: start over from 0.
      const nextIndex = Number.isFinite(headerIndex) && headerIndex > 0 ? (headerIndex < index ? 0 : headerIndex) : index;
      return { body, index: nextIndex };
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }

  private async request<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new InfermeshError('UPSTREAM_UNAVAILABLE', `Consul request failed: ${(error as Error).message}`, { cause: error, retriable: true });
    }
  }
}
