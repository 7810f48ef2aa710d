import type { Logger } from 'pino';
import type { DropReason, EventMetrics } from './event-metrics.js';

/** Milliseconds between two ERROR lines about dropped events: one line per interval carries the count. */
export const DROP_LOG_INTERVAL_MS = 10_000;

/**
 * Counts lost events and says so at ERROR (a human must act: the spool is full or the disk fails),
 * at most one line per interval with how many were dropped since the last line, so an outage
 * that drops thousands of events per second does not flood the log.
 */
export class DropReporter {
  private unreported = new Map<DropReason, number>();
  private lastLogMs = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private lastDetail: string | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: EventMetrics,
    private readonly now: () => number,
    private readonly intervalMs: number = DROP_LOG_INTERVAL_MS,
  ) {}

  /** Records `count` lost events; `detail` (e.g. the disk error) goes into the next log line. */
  drop(reason: DropReason, count = 1, detail?: string): void {
    this.metrics.dropped.inc({ reason }, count);
    this.unreported.set(reason, (this.unreported.get(reason) ?? 0) + count);
    if (detail !== undefined) this.lastDetail = detail;
    const dueInMs = this.lastLogMs + this.intervalMs - this.now();
    if (dueInMs <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), dueInMs).unref();
  }

  /** Logs what is unreported now (also called on stop, so no count goes unsaid). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unreported.size === 0) return;
    const dropped = Object.fromEntries(this.unreported);
    const total = [...this.unreported.values()].reduce((sum, count) => sum + count, 0);
    this.logger.error({ dropped, ...(this.lastDetail === undefined ? {} : { detail: this.lastDetail }) }, `${total} events dropped`);
    this.unreported = new Map();
    this.lastDetail = undefined;
    this.lastLogMs = this.now();
  }
}
