import type { Client } from '@grpc/grpc-js';
import { startLoops, type Loops } from './concurrent-loops.js';
import { unary } from './proto-client.js';

/** One ModelInfer call as the load generator saw it. */
export interface CallRecord {
  /** Issue order across all callers of this generator. */
  seq: number;
  version?: string;
  error?: string;
  startedAt: number;
  endedAt: number;
}

/** A running load: `stop()` ends it and returns every call, in issue order. */
export type Load = Loops<CallRecord>;

/**
 * Runs `callers` concurrent ModelInfer loops against one client until stopped: the steady
 * traffic a promotion must not disturb. Each call is recorded with the version that answered.
 */
export function startLoad(client: Client, request: object, callers: number, timeoutMs = 5_000): Load {
  return startLoops(callers, async (seq) => {
    const record: CallRecord = { seq, startedAt: performance.now(), endedAt: 0 };
    try {
      const response = await unary<{ model_version: string }>(client, 'ModelInfer', request, timeoutMs);
      record.version = response.model_version;
    } catch (error) {
      record.error = (error as Error).message;
    }
    record.endedAt = performance.now();
    return record;
  });
}

/** The distinct versions in order of first appearance, collapsing runs: [v1, v2] means one switch. */
export function versionRuns(calls: readonly CallRecord[]): string[] {
  const runs: string[] = [];
  for (const call of calls) if (call.version !== undefined && runs[runs.length - 1] !== call.version) runs.push(call.version);
  return runs;
}

/** Resolves once `predicate` holds, polling; rejects after `timeoutMs` with `what` in the message. */
export async function eventually(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
