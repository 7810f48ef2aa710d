import { InfermeshError } from '@infermesh/shared';
// Relative: the gateway package does not export its pools yet (its index belongs to the gateway core).
import type { ModelInferRequest, WorkerPool } from '@infermesh/gateway';

/** One pool.infer call as the load saw it. */
export interface PoolCallRecord {
  /** Issue order across all callers. */
  seq: number;
  /** Address of the instance that answered. */
  instance?: string;
  attempts?: number;
  /** InfermeshError code and message of a failed call. */
  error?: string;
  /** performance.now() milliseconds. */
  startedAt: number;
  endedAt: number;
}

/** A running load on a pool: `stop()` ends it and returns every call in issue order. */
export interface PoolLoad {
  readonly calls: PoolCallRecord[];
  stop(): Promise<PoolCallRecord[]>;
}

/** Runs `callers` concurrent pool.infer loops until stopped, recording who answered each call. */
export function startPoolLoad(pool: Pick<WorkerPool, 'infer'>, request: ModelInferRequest, callers: number, timeoutMs = 5_000): PoolLoad {
  const calls: PoolCallRecord[] = [];
  let seq = 0;
  let running = true;
  const loops = Array.from({ length: callers }, async () => {
    while (running) {
      const record: PoolCallRecord = { seq: seq++, startedAt: performance.now(), endedAt: 0 };
      try {
        const result = await pool.infer(request, { deadline: new Date(Date.now() + timeoutMs), requestId: `load-${record.seq}` });
        record.instance = result.instance.address;
        record.attempts = result.attempts;
      } catch (error) {
        const typed = InfermeshError.from(error);
        record.error = `[${typed.code}] ${typed.message}`;
      }
      record.endedAt = performance.now();
      calls.push(record);
    }
  });
  return {
    calls,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return [...calls].sort((a, b) => a.seq - b.seq);
    },
  };
}

/** Calls answered by `instance` that ended after `since` (performance.now() ms). */
export function answeredBy(calls: readonly PoolCallRecord[], instance: string, since = 0): number {
  return calls.filter((call) => call.instance === instance && call.endedAt > since).length;
}
