import type { WorkerEndpoint } from './worker-endpoint.js';

/** Where a pool learns which worker instances exist: a fixed list or the Consul catalog. */
export interface EndpointSource {
  /** Starts watching in the background; calling it again does nothing. */
  start(): void;
  /** Stops watching and waits for the watch loop to end. */
  stop(): Promise<void>;
  /** The instances known now (the last successful listing). */
  endpoints(): readonly WorkerEndpoint[];
  /** Calls `listener` with the full list each time it changes. */
  onChange(listener: (endpoints: readonly WorkerEndpoint[]) => void): void;
  /** Resolves after the first successful listing (static: at once). */
  readonly ready: Promise<void>;
}
