import type { Logger } from '@infermesh/shared';

/** Milliseconds an outage is reported at WARN before it is reported (once) at ERROR: past it, a human should look. */
export const OUTAGE_ERROR_AFTER_MS = 60_000;

/** What an {@link OutageReporter} needs. */
export interface OutageReporterOptions {
  /** What is unreachable, for the log lines (e.g. "Consul"). */
  what: string;
  logger: Logger;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Told when the upstream goes down (false) and comes back (true). */
  onChange?: (up: boolean) => void;
}

/**
 * Reports one upstream's outages without flooding the log: WARN when it starts, ERROR once if it
 * lasts a minute, INFO when it ends, whatever the number of failed attempts in between.
 */
export class OutageReporter {
  private since: number | undefined;
  /** Last state told to onChange; undefined before the first attempt. */
  private up: boolean | undefined;
  private escalated = false;
  private failures = 0;

  constructor(private readonly options: OutageReporterOptions) {}

  /** True between a failure and the next success. */
  get down(): boolean {
    return this.since !== undefined;
  }

  /** Records a failed attempt. */
  failed(error: unknown): void {
    const { what, logger, now } = this.options;
    const at = now();
    const reason = error instanceof Error ? error.message : String(error);
    this.failures += 1;
    this.tell(false);
    if (this.since === undefined) {
      this.since = at;
      logger.warn({ upstream: what, reason }, `${what} unavailable; retrying`);
    } else if (!this.escalated && at - this.since >= OUTAGE_ERROR_AFTER_MS) {
      this.escalated = true;
      logger.error({ upstream: what, reason, downForMs: at - this.since, failures: this.failures }, `${what} unavailable for over a minute`);
    }
  }

  /** Records a successful attempt. */
  succeeded(): void {
    this.tell(true);
    if (this.since === undefined) return;
    const { what, logger, now } = this.options;
    logger.info({ upstream: what, downForMs: now() - this.since, failures: this.failures }, `${what} reachable again`);
    this.since = undefined;
    this.escalated = false;
    this.failures = 0;
  }

  private tell(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.options.onChange?.(up);
  }
}
