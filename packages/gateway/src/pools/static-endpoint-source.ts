import { InfermeshError } from '@infermesh/shared';
import type { EndpointSource } from './endpoint-source.js';
import type { WorkerEndpoint } from './worker-endpoint.js';

/** A fixed list of worker addresses (`host:port`), for deployments without Consul. */
export class StaticEndpointSource implements EndpointSource {
  private readonly list: readonly WorkerEndpoint[];
  /** Static addresses are known at once. */
  readonly ready = Promise.resolve();

  constructor(addresses: readonly string[]) {
    for (const address of addresses) {
      if (!/^[^\s:]+:\d{1,5}$/.test(address) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(address)) {
        throw new InfermeshError('INVALID_CONFIG', `worker address '${address}' is not host:port`);
      }
    }
    // Duplicates would mean one worker weighted twice; a pool keys instances by address anyway.
    this.list = [...new Set(addresses)].map((address) => ({ id: address, address, meta: {} }));
  }

  /** Nothing to watch. */
  start(): void {}

  /** Nothing to stop. */
  async stop(): Promise<void> {}

  /** The configured addresses. */
  endpoints(): readonly WorkerEndpoint[] {
    return this.list;
  }

  /** The list never changes, so listeners are never called. */
  onChange(_listener: (endpoints: readonly WorkerEndpoint[]) => void): void {}
}
