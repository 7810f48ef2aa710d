/** First retry delay after a failure, milliseconds; doubles per consecutive failure. */
export const DEFAULT_BACKOFF_BASE_MS = 250;
/** Longest retry delay, milliseconds. */
export const DEFAULT_BACKOFF_MAX_MS = 10_000;
/** Doublings after which the delay stops growing (keeps 2 ** n finite whatever the failure count). */
const MAX_DOUBLINGS = 16;

/** Options of an {@link ExponentialBackoff}. */
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** Uniform in [0, 1): the jitter. */
  random: () => number;
}

/**
 * Exponential backoff with full jitter (a uniform delay below the capped exponential): many
 * clients retrying against one recovering Consul spread out instead of arriving together.
 */
export class ExponentialBackoff {
  private failureCount = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(private readonly options: BackoffOptions) {
    this.baseMs = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  }

  /** Consecutive failures since the last success. */
  get failures(): number {
    return this.failureCount;
  }

  /** Records a failure and returns how long to wait before the next attempt, milliseconds. */
  fail(): number {
    this.failureCount += 1;
    return this.options.random() * Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.failureCount, MAX_DOUBLINGS));
  }

  /** Records a success: the next failure starts from the base delay again. */
  succeed(): void {
    this.failureCount = 0;
  }
}
