import type { ErrorCode, EventInput } from '@infermesh/shared';
import type { LoadTimings } from './model-loader.js';

/** Where a worker and the version change belong. */
export interface ReloadContext {
  model: string;
  deployment: string;
  /** The worker's address, host:port. */
  worker: string;
  fromVersion: string | null;
}

/** `toVersion` of a failure whose deployment record could not even be read. */
export const UNREADABLE_VERSION = 'unknown';

/** The stage of a reload each error code belongs to. */
const STAGE_OF: Partial<Record<ErrorCode, 'registry' | 'fetch' | 'verify' | 'load' | 'compatibility' | 'warmup'>> = {
  INVALID_CONFIG: 'registry',
  VERSION_NOT_FOUND: 'registry',
  ARTIFACT_FETCH_FAILED: 'fetch',
  ARTIFACT_NOT_FOUND: 'fetch',
  ARTIFACT_CHECKSUM_MISMATCH: 'verify',
  ARTIFACT_CORRUPT: 'load',
  ARTIFACT_UNSUPPORTED_FORMAT: 'load',
  INCOMPATIBLE_MODEL: 'compatibility',
  WARMUP_FAILED: 'warmup',
};

/** `infermesh.model.reloaded`: the worker serves `toVersion` now. The model is the subject, so a model's lifecycle stays in order. */
export function modelReloadedEvent(context: ReloadContext, toVersion: string, timings: LoadTimings): EventInput {
  return {
    type: 'infermesh.model.reloaded',
    subject: context.model,
    data: { ...context, toVersion, timingsMs: { fetch: timings.fetchMs, verify: timings.verifyMs, load: timings.loadMs, warmup: timings.warmupMs } },
  };
}

/** `infermesh.model.reload_failed`: the worker refused `toVersion` and keeps serving `fromVersion`. */
export function modelReloadFailedEvent(context: ReloadContext, toVersion: string | undefined, code: ErrorCode, message: string): EventInput {
  return {
    type: 'infermesh.model.reload_failed',
    subject: context.model,
    data: { ...context, toVersion: toVersion ?? UNREADABLE_VERSION, stage: STAGE_OF[code] ?? 'load', errorCode: code, message },
  };
}
