import { InfermeshError } from '@infermesh/shared';
import type { ModelInferRequest, WorkerPool } from '@infermesh/gateway';
import { startLoops, type Loops } from './concurrent-loops.js';

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
export type PoolLoad = Loops<PoolCallRecord>;

/** Runs `callers` concurrent pool.infer loops until stopped, recording who answered each call. */
export function startPoolLoad(pool: Pick<WorkerPool, 'infer'>, request: ModelInferRequest, callers: number, timeoutMs = 5_000): PoolLoad {
  return startLoops(callers, async (seq) => {
    const record: PoolCallRecord = { seq, startedAt: performance.now(), endedAt: 0 };
    try {
      const result = await pool.infer(request, { deadline: new Date(Date.now() + timeoutMs), requestId: `load-${seq}` });
      record.instance = result.instance.address;
      record.attempts = result.attempts;
    } catch (error) {
      const typed = InfermeshError.from(error);
      record.error = `[${typed.code}] ${typed.message}`;
    }
    record.endedAt = performance.now();
    return record;
  });
}

/** Calls answered by `instance` that ended after `since` (performance.now() ms). */
export function answeredBy(calls: readonly PoolCallRecord[], instance: string, since = 0): number {
  return calls.filter((call) => call.instance === instance && call.endedAt > since).length;
}
