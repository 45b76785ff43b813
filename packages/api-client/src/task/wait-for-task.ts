/**
 * Waits for a task to end with the API's long-poll (GET /v1/tasks/:id/events?wait=1), one poll
 * after another, so a wait of any length survives proxies, API restarts (each poll is retried
 * within the client's budget) and needs no open stream.
 */
import { WaitTimeoutError } from '../errors.js';
import type { TaskView } from '../generated/api-types.js';
import type { HttpClient } from '../http/http-client.js';
import { isFinalStatus } from './task-events.js';

/** The longest single poll; the API allows up to 120 s. */
export const POLL_MS = 60_000;

export interface WaitOptions {
  /** Give up after this long (WaitTimeoutError); default: wait as long as it takes. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with the task as each poll returns it. */
  onPoll?: (task: TaskView) => void;
  /** The longest single poll (default and most 60 s): `onPoll` is called at least this often. */
  pollMs?: number;
}

export async function waitForTask(
  http: HttpClient,
  taskId: string,
  options: WaitOptions = {},
): Promise<TaskView> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  for (;;) {
    const pollMs = Math.max(0, Math.min(options.pollMs ?? POLL_MS, POLL_MS, deadline - Date.now()));
    const task = await http.json<TaskView>(`/v1/tasks/${encodeURIComponent(taskId)}/events`, {
      query: { wait: true, timeoutMs: pollMs },
      signal: options.signal,
    });
    options.onPoll?.(task);
    if (isFinalStatus(task.status)) return task;
    if (Date.now() >= deadline) throw new WaitTimeoutError(taskId, options.timeoutMs ?? 0);
  }
}
