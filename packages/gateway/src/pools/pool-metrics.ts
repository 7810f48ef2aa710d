import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Gateway → worker call latency buckets, seconds: 250 µs (loopback, small model) to 10 s. */
export const WORKER_CALL_DURATION_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The worker pools' Prometheus metrics, registered on an injected registry (one per gateway). */
export class PoolMetrics {
  readonly callDuration: Histogram<'pool' | 'instance' | 'code'>;
  readonly instances: Gauge<'pool' | 'state'>;
  readonly ejections: Counter<'pool' | 'instance'>;
  readonly retries: Counter<'pool'>;
  /** gRPC codes seen per pool and instance, so an instance's series can be removed when it leaves. */
  private readonly codesSeen = new Map<string, Set<string>>();

  constructor(registry: Registry) {
    this.callDuration = new Histogram({
      name: 'infermesh_gateway_worker_call_duration_seconds',
      help: 'Time one gRPC call from the gateway to a worker took, by pool, instance and gRPC status code.',
      labelNames: ['pool', 'instance', 'code'],
      buckets: WORKER_CALL_DURATION_BUCKETS,
      registers: [registry],
    });
    this.instances = new Gauge({
      name: 'infermesh_gateway_pool_instances',
      help: 'Worker instances in each pool, by state: healthy (in rotation) or ejected (after consecutive failures, until a probe passes).',
      labelNames: ['pool', 'state'],
      registers: [registry],
    });
    this.ejections = new Counter({
      name: 'infermesh_gateway_pool_ejections_total',
      help: 'Times an instance was taken out of rotation after consecutive transport or availability failures.',
      labelNames: ['pool', 'instance'],
      registers: [registry],
    });
    this.retries = new Counter({
      name: 'infermesh_gateway_worker_retries_total',
      help: 'Calls retried once on another instance because the first attempt provably did not reach the model.',
      labelNames: ['pool'],
      registers: [registry],
    });
  }

  /** Records one worker call's duration under its gRPC status name (`OK`, `UNAVAILABLE`, ...). */
  observeCall(pool: string, instance: string, code: string, seconds: number): void {
    const key = `${pool}\u0000${instance}`;
    const codes = this.codesSeen.get(key) ?? new Set<string>();
    codes.add(code);
    this.codesSeen.set(key, codes);
    this.callDuration.observe({ pool, instance, code }, seconds);
  }

  /** Sets a pool's instance counts by state. */
  setInstances(pool: string, healthy: number, ejected: number): void {
    this.instances.set({ pool, state: 'healthy' }, healthy);
    this.instances.set({ pool, state: 'ejected' }, ejected);
  }

  /** Drops every series of a closed pool. */
  forgetPool(pool: string): void {
    for (const key of [...this.codesSeen.keys()]) {
      const [owner, instance] = key.split('\u0000') as [string, string];
      if (owner === pool) this.forgetInstance(pool, instance);
    }
    this.instances.remove({ pool, state: 'healthy' });
    this.instances.remove({ pool, state: 'ejected' });
    this.retries.remove({ pool });
  }

  /** Drops the series of an instance that left the pool: Consul ids change with every deploy. */
  forgetInstance(pool: string, instance: string): void {
    const key = `${pool}\u0000${instance}`;
    for (const code of this.codesSeen.get(key) ?? []) this.callDuration.remove({ pool, instance, code });
    this.codesSeen.delete(key);
    this.ejections.remove({ pool, instance });
  }
}
