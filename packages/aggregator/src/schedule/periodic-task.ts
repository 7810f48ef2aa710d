import type { Logger } from '@infermesh/shared';

/**
 * Runs `task` every `intervalMs`, measured from the end of one run to the start of the next, so
 * two runs never overlap however slow one is. The timer is unref'd: it never keeps a process alive.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly task: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Schedules the first run one interval from now. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Cancels the next run and waits for the one in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.task()
        .catch((error: unknown) => this.logger.warn({ task: this.name, reason: (error as Error).message }, 'periodic task failed; it runs again at the next interval'))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }
}
