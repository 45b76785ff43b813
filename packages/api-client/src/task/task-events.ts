/**
 * Follows a task's status, progress and service state (GET /v1/tasks/:id/events) until its final
 * status. After a reconnect the API sends the current status again; a repeat of the last one is
 * dropped (a service's state is sent again too, and passed on: it may have changed meanwhile). A
 * `resync` (transitions were trimmed before the API read them) is passed on: the status after it
 * is the task's record as it is then, and some statuses in between were skipped.
 */
import { FINAL_STATUSES, type TaskStatus } from '../generated/api-types.js';
import type { HttpClient } from '../http/http-client.js';
import { resumableStream } from './resumable-stream.js';
import type { ProgressEvent, ServiceEvent, StatusEvent, StreamResync, TaskEvent } from './stream-events.js';

export function isFinalStatus(status: TaskStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

export async function* taskEvents(
  http: HttpClient,
  taskId: string,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<TaskEvent> {
  let last: StatusEvent | null = null;
  const messages = resumableStream(
    http,
    `/v1/tasks/${encodeURIComponent(taskId)}/events`,
    (m) => m.event === 'status' && isFinalStatus((JSON.parse(m.data) as StatusEvent).status),
    { signal: options.signal },
  );
  for await (const message of messages) {
    if (message.event === 'status') {
      const event: StatusEvent = {
        ...(JSON.parse(message.data) as Omit<StatusEvent, 'type'>),
        type: 'status',
      };
      if (last && last.status === event.status && last.attempt === event.attempt) continue;
      last = event;
      yield event;
    } else if (message.event === 'progress') {
      yield { ...(JSON.parse(message.data) as Omit<ProgressEvent, 'type'>), type: 'progress' };
    } else if (message.event === 'service') {
      const event = JSON.parse(message.data) as Omit<ServiceEvent, 'type'>;
      yield { ...event, endpoints: event.endpoints ?? null, type: 'service' };
    } else if (message.event === 'resync') {
      yield { ...(JSON.parse(message.data) as Omit<StreamResync, 'type'>), type: 'resync' };
    }
  }
}
