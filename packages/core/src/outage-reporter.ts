/**
 * One voice for "Redis is unreachable" in a process: every connection and every job that fails
 * because Redis is gone reports here, and at most one line a second is logged (with how many
 * reports it stands for); when Redis answers again, one line says so with how long it was down.
 */
import type { Logger } from 'pino';

export class OutageReporter {
  private downSince: number | null = null;
  private lastLogged = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  get down(): boolean {
    return this.downSince !== null;
  }

  report(error: unknown, context: Record<string, unknown> = {}): void {
    const now = this.now();
    this.downSince ??= now;
    if (now - this.lastLogged < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.logger.error(
      { err: error, ...context, suppressed: this.suppressed, downMs: now - this.downSince },
      'redis unreachable',
    );
    this.lastLogged = now;
    this.suppressed = 0;
  }

  recovered(): void {
    if (this.downSince === null) return;
    this.logger.info(
      { downMs: this.now() - this.downSince, suppressed: this.suppressed },
      'redis reachable again',
    );
    this.downSince = null;
    this.suppressed = 0;
    this.lastLogged = 0;
  }
}
