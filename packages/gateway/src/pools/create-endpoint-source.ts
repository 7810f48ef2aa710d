import { InfermeshError, type Logger, type PoolConfig } from '@infermesh/shared';
import type Consul from 'consul';
import { ConsulEndpointSource } from './consul-endpoint-source.js';
import type { EndpointSource } from './endpoint-source.js';
import { StaticEndpointSource } from './static-endpoint-source.js';

/** What building an endpoint source needs. */
export interface EndpointSourceDependencies {
  /** Absent when the gateway runs without Consul: only static pools are possible then. */
  consul: Consul | undefined;
  logger: Logger;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Milliseconds a catalog blocking query waits (tests shorten it). */
  waitMs?: number;
}

/** Where a pool's instances come from: its fixed list, or its deployment in the Consul catalog (INVALID_CONFIG without Consul). */
export function createEndpointSource(model: string, pool: PoolConfig, dependencies: EndpointSourceDependencies): EndpointSource {
  if (pool.static !== undefined) return new StaticEndpointSource(pool.static);
  const { consul, logger, random, sleep, waitMs } = dependencies;
  if (consul === undefined) {
    throw new InfermeshError('INVALID_CONFIG', `model '${model}' discovers deployment '${pool.deployment}' in Consul, but this gateway runs without --consul: list static workers or start it with --consul`, {
      details: { model, deployment: pool.deployment },
    });
  }
  const filter = { model, deployment: pool.deployment! };
  return new ConsulEndpointSource(consul, filter, { logger: logger.child({ module: 'consul-endpoint-source', ...filter }), random, sleep, ...(waitMs === undefined ? {} : { waitMs }) });
}
