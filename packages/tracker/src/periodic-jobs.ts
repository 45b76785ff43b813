/**
 * A tracker's timers: each job runs every so often, never twice at once (a slow run skips the
 * next tick), its failures reported (an unreachable Redis through the outage reporter, one line a
 * second for the whole process). Jobs come in groups that stop together.
 */
import { isRedisUnavailable, type Logger, type OutageReporter } from '@gpufleet/core';

export class PeriodicJobs<Group extends string> {
  private readonly timers = new Map<Group, NodeJS.Timeout[]>();

  constructor(
    private readonly logger: Logger,
    private readonly outage: OutageReporter,
  ) {}

  every(group: Group, ms: number, job: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      job()
        .catch((error: unknown) => {
          if (isRedisUnavailable(error)) this.outage.report(error, { job: job.name });
          else this.logger.warn({ err: error }, 'periodic job failed');
        })
        .finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.timers.set(group, [...(this.timers.get(group) ?? []), timer]);
  }

  stop(group: Group): void {
    for (const timer of this.timers.get(group) ?? []) clearInterval(timer);
    this.timers.delete(group);
  }
}
