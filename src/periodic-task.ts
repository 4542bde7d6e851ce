import type { Logger } from 'pino';

/**
 * Runs `work` every `intervalMs` in this process, one run at a time (the next is scheduled when
 * the previous ends), until stopped. A failed run is logged and the next one tries again. The timer
 * never keeps the process alive. The in-process stand-in for the job table's periodic jobs.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly work: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Schedules the first run one interval from now. */
  start(): this {
    this.schedule();
    return this;
  }

  /** Cancels the next run and waits for one in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.work()
        .catch((error: unknown) => this.logger.error({ err: error, task: this.name }, 'periodic task failed'))
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }
}
