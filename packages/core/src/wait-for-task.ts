/**
 * Waits for a task to end without polling: takes the events stream's cursor, reads the record,
 * then blocks on the queue's events stream (on a connection of its own) until the task's final
 * status arrives, and returns the final record.
 */
import type { Redis } from 'ioredis';
import { GpufleetError } from './errors.js';
import type { QueueKeys } from './keys.js';
import { getTask, type TaskRecord } from './task-record.js';
import { isFinal, isTaskStatus, type TaskStatus } from './task-status.js';

export interface TaskStatusEvent {
  taskId: string;
  status: TaskStatus;
  attempt: number;
  reason: string;
}

export interface WaitForTaskOptions {
  /** Give up after this long (GpufleetError WAIT_TIMEOUT); default 10 minutes. */
  timeoutMs?: number;
  /** Called with each status change of the task while waiting. */
  onEvent?: (event: TaskStatusEvent) => void;
}

export async function waitForTaskEnd(
  redis: Redis,
  keys: QueueKeys,
  id: string,
  options: WaitForTaskOptions = {},
): Promise<TaskRecord> {
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  const reader = redis.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
  });
  try {
    const [latest] = await reader.xrevrange(keys.events, '+', '-', 'COUNT', 1);
    let cursor = latest?.[0] ?? '0-0';
    for (;;) {
      const task = await getTask(redis, keys, id);
      if (task === null) throw new GpufleetError('NOT_FOUND', `task ${id} not found in queue ${keys.queue}`);
      if (isFinal(task.status)) return task;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new GpufleetError('WAIT_TIMEOUT', `task ${id} did not end in time (still ${task.status})`);
      const reply = await reader.xread('BLOCK', Math.min(left, 1000), 'STREAMS', keys.events, cursor);
      for (const [, entries] of reply ?? []) {
        for (const [entryId, f] of entries) {
          cursor = entryId;
          const status = f[3] ?? '';
          if (f[1] !== id || !isTaskStatus(status)) continue;
          options.onEvent?.({ taskId: id, status, attempt: Number(f[5] ?? 0), reason: f[11] ?? '' });
        }
      }
    }
  } finally {
    reader.disconnect();
  }
}
