/**
 * What the first Ctrl-C of `npm start` says while the fleet stops: the tasks it lets finish (by id
 * and executer), how long it waits for them at most (the tracker's shutdown grace), and that a
 * second Ctrl-C stops at once. With no task running it only says that it stops.
 */
import type { LocalFleet } from './local-fleet.js';

/** Tasks named in full; past this many, the rest are counted. */
const NAMED_TASKS = 5;

export function shutdownNotice(fleet: Pick<LocalFleet, 'tracker' | 'shutdownGraceMs'>): string {
  const tasks = [...fleet.tracker.running.entries()].map(
    ([id, task]) => `${id}${task.claim.record ? ` ${task.claim.record.executer}` : ''}`,
  );
  if (tasks.length === 0) return 'stopping the local fleet...';
  const named = tasks.slice(0, NAMED_TASKS).join(', ');
  const more = tasks.length > NAMED_TASKS ? ` and ${tasks.length - NAMED_TASKS} more` : '';
  const count = tasks.length === 1 ? '1 running task' : `${tasks.length} running tasks`;
  const seconds = Math.ceil(fleet.shutdownGraceMs / 1000);
  return (
    `stopping the local fleet: waiting up to ${seconds} s for ${count} to finish (${named}${more}), ` +
    'then handing what is left back to the queue\npress Ctrl-C again to stop at once'
  );
}
