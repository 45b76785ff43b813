/**
 * Default priorities: the priority a task gets when its spec gives none. GPUFLEET_QUEUE_PRIORITIES
 * sets it per queue (`gpu=700,batch=200`), GPUFLEET_DEFAULT_PRIORITY for every other queue; a
 * task's own `priority` wins over both. Priorities are core's (task-priority.ts: 0-1000, higher
 * starts first).
 */
import { checkName, priorityIssue, type EnvReader } from '@gpufleet/core';

const VARIABLE = 'GPUFLEET_QUEUE_PRIORITIES';

/**
 * Reads GPUFLEET_QUEUE_PRIORITIES: `queue=priority` entries separated by commas (empty entries are
 * skipped). Each bad entry is one issue of `reader`, naming the entry; the good ones are returned.
 */
export function readQueuePriorities(reader: EnvReader): ReadonlyMap<string, number> {
  const priorities = new Map<string, number>();
  const text = reader.raw(VARIABLE);
  if (text === undefined) return priorities;
  for (const entry of text.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const at = entry.indexOf('=');
    const queue = at < 0 ? entry : entry.slice(0, at).trim();
    const value = at < 0 ? '' : entry.slice(at + 1).trim();
    const where = `entry "${entry}"`;
    if (at < 0) {
      reader.fail(VARIABLE, `${where} is not queue=priority`);
      continue;
    }
    const nameIssue = checkName(queue);
    const priority = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    const issue = priorityIssue(priority);
    if (nameIssue) reader.fail(VARIABLE, `${where}: the queue name ${nameIssue}`);
    else if (issue) reader.fail(VARIABLE, `${where}: the priority ${issue}`);
    else if (priorities.has(queue)) reader.fail(VARIABLE, `${where}: queue "${queue}" is given twice`);
    else priorities.set(queue, priority);
  }
  return priorities;
}

/** The default priority of each queue: its own from `byQueue`, else `fallback`. */
export function priorityByQueue(
  fallback: number,
  byQueue: ReadonlyMap<string, number>,
): (queue: string) => number {
  return (queue) => byQueue.get(queue) ?? fallback;
}
