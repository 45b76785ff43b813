/**
 * GPUFLEET_IDLE_EXIT_MS: calls `onIdle` once the tracker has run no task for that long, counted
 * from its start and from the end of its last task (a pilot job on SLURM then ends and gives its
 * node back). Driven by the tracker's events: a claim cancels the count, an attempt's end starts
 * it again when nothing else runs.
 *
 * @example
 * const watch = watchIdleExit(tracker, 600_000, () => void tracker.close());
 */
import type { Tracker } from './tracker.js';
import type { TrackerEventName } from './tracker-events.js';

/** The events after which the tracker may have nothing running any more. */
const ENDS: readonly TrackerEventName[] = [
  'completed',
  'retry-queued',
  'handed-back',
  'lost',
  'dead-lettered',
];

export function watchIdleExit(tracker: Tracker, idleMs: number, onIdle: () => void): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const arm = (): void => {
    clearTimeout(timer);
    if (done) return;
    timer = setTimeout(() => {
      // A task still runs (it was claimed by a take behind a read, or is finishing): look again later.
      if (tracker.running.size > 0) return arm();
      done = true;
      onIdle();
    }, idleMs);
  };
  const claimed = (): void => clearTimeout(timer);
  const ended = (): void => arm();
  tracker.on('claimed', claimed);
  for (const name of ENDS) tracker.on(name, ended);
  arm();
  return {
    close(): void {
      done = true;
      clearTimeout(timer);
      tracker.off('claimed', claimed);
      for (const name of ENDS) tracker.off(name, ended);
    },
  };
}
