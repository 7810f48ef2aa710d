import type { WorkerPool } from '../pools/worker-pool.js';
import type { PoolConfig } from './model-config.js';

/** A replaced pool is closed this long after its last user let go of it, so in-flight calls finish. */
export const RETIRED_POOL_GRACE_MS = 30_000;

interface Entry {
  pool: WorkerPool;
  users: number;
  closeTimer?: NodeJS.Timeout;
}

/**
 * Worker pools shared by every model version and variant that names the same workers, so a
 * config change that keeps a variant's workers keeps its channels, in-flight counts and
 * ejections. A pool nobody uses any more is closed after a grace period.
 */
export class SharedPools {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly create: (workerModel: string, pool: PoolConfig) => WorkerPool,
    private readonly graceMs = RETIRED_POOL_GRACE_MS,
  ) {}

  /** The pool for these workers of this model, created and started on first use. */
  acquire(workerModel: string, config: PoolConfig): WorkerPool {
    const key = JSON.stringify([workerModel, config.static ?? null, config.deployment ?? null]);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const pool = this.create(workerModel, config);
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
