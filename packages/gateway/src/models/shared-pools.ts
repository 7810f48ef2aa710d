import type { WorkerPool } from '../pools/worker-pool.js';
import type { PoolConfig } from '@infermesh/shared';

/** A replaced pool is closed this long after its last user let go of it, so in-flight calls finish. */
export const RETIRED_POOL_GRACE_MS = 30_000;

interface Entry {
  pool: WorkerPool;
  users: number;
  closeTimer?: NodeJS.Timeout;
}

/**
 * The name of the pool serving `workerModel` from these workers: `churn/prod` for a Consul
 * deployment, `churn/static:host:port,…` for fixed addresses. Variants on different workers get
 * different names, so their metric series do not overwrite each other.
 */
export function poolName(workerModel: string, config: PoolConfig): string {
  return config.deployment !== undefined ? `${workerModel}/${config.deployment}` : `${workerModel}/static:${(config.static ?? []).join(',')}`;
}

/**
 * Worker pools shared by every model version and variant that names the same workers, so a
 * config change that keeps a variant's workers keeps its channels, in-flight counts and
 * ejections. A pool nobody uses any more is closed after a grace period.
 */
export class SharedPools {
  private readonly entries = new Map<string, Entry>();

  constructor(
    /** Builds a pool; `name` identifies it in logs and metric labels and is unique per workers. */
    private readonly create: (name: string, workerModel: string, pool: PoolConfig) => WorkerPool,
    private readonly graceMs = RETIRED_POOL_GRACE_MS,
  ) {}

  /** The pool for these workers of this model, created and started on first use. */
  acquire(workerModel: string, config: PoolConfig): WorkerPool {
    const key = poolName(workerModel, config);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const pool = this.create(key, workerModel, config);
      pool.start();
      entry = { pool, users: 0 };
      this.entries.set(key, entry);
    }
    clearTimeout(entry.closeTimer);
    entry.users += 1;
    return entry.pool;
  }

  /** Lets go of a pool taken with `acquire`; the last release closes it after the grace period. */
  release(pool: WorkerPool): void {
    for (const [key, entry] of this.entries) {
      if (entry.pool !== pool) continue;
      entry.users -= 1;
      if (entry.users > 0) return;
      entry.closeTimer = setTimeout(() => {
        this.entries.delete(key);
        void pool.close();
      }, this.graceMs);
      entry.closeTimer.unref();
      return;
    }
  }

  /** Closes every pool now. */
  async closeAll(): Promise<void> {
    const pools = [...this.entries.values()];
    this.entries.clear();
    for (const entry of pools) clearTimeout(entry.closeTimer);
    await Promise.all(pools.map((entry) => entry.pool.close()));
  }
}
