/**
 * The task page's events stream, GET /v1/tasks/:id/events, one connection of it: `status` (each
 * transition), `service` (each change of a service's state: `ready` with its endpoints,
 * `restarting` with why...) and `resync`. Read here, not through the client library's
 * `task.events()`, which passes status, progress and resync on but not `service`. The request
 * goes through the client (its key, its retries while connecting); the caller (use-task.ts)
 * reconnects when the stream drops, and the API then sends the current status again (and the
 * service's current state). Ends once a final status was yielded.
 */
import {
  isFinalStatus,
  type GpufleetClient,
  type StatusEvent,
  type StreamResync,
  type TaskSummary,
} from '@gpufleet/api-client';

/** `waiting-for-port`, `starting`, `ready` or `restarting`. */
export type ServiceState = NonNullable<TaskSummary['service']>['state'];

/** A service's state changed (docs/api.md, `service` events). */
export interface ServiceEvent {
  type: 'service';
  taskId: string;
  attempt: number;
  state: ServiceState;
  /** Port name → `host:port`, only while `ready`. */
  endpoints: Record<string, string> | null;
  /** ISO 8601 (for `ready`, when it became ready). */
  at: string | null;
  tracker: string | null;
  /** Why it waits for a port or restarts. */
  reason: string | null;
}

export type PageEvent = StatusEvent | ServiceEvent | StreamResync;

interface Message {
  event: string;
  data: string;
}

/** The messages of an SSE body (the API writes `\n` line ends; comments are keep-alives). */
async function* messages(body: ReadableStream<Uint8Array>): AsyncGenerator<Message> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length > 0) yield { event, data: data.join('\n') };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** One connection of task `id`'s events; throws when it drops before the final status. */
export async function* taskStream(
  client: GpufleetClient,
  id: string,
  signal: AbortSignal,
): AsyncGenerator<PageEvent> {
  const response = await client.http.request(`/v1/tasks/${encodeURIComponent(id)}/events`, {
    headers: { accept: 'text/event-stream' },
    signal,
  });
  if (!response.body) throw new Error('the answer has no body');
  for await (const { event, data } of messages(response.body)) {
    if (event === 'error') {
      const { code, message } = JSON.parse(data) as { code: string; message: string };
      throw new Error(`${code}: ${message}`);
    }
    if (event !== 'status' && event !== 'service' && event !== 'resync') continue;
    const parsed = { ...(JSON.parse(data) as object), type: event } as PageEvent;
    yield parsed;
    if (parsed.type === 'status' && isFinalStatus(parsed.status)) return;
  }
  throw new Error('the stream ended before the task did');
}
