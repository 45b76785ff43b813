/**
 * A service task's endpoints (an executer with a `service` block: a long-lived server its tracker
 * gives host ports and publishes once its readiness check passes), read from the task's events
 * (GET /v1/tasks/:id/events, task-events.ts). `waitForEndpoints` resolves with them on the first
 * `service` event that is `ready`, or rejects: `TaskEndedError` when the task reaches a final
 * status first, `WaitTimeoutError` when `timeoutMs` passes. `followEndpoints` reports each change
 * until the final status: new endpoints on every `ready` (after a restart, or on another tracker
 * after a crash), null when they are withdrawn (any other service state, any status but
 * `running`, a new attempt).
 *
 * @example
 * const { endpoints } = await client.waitForEndpoints(id, { timeoutMs: 120_000 });
 * connectController(endpoints['control']); // "gpu-node-7:20001"
 * await client.followEndpoints(id, (ready) => (ready ? reconnect(ready.endpoints) : pause()));
 */
import { TaskEndedError, WaitTimeoutError } from '../errors.js';
import type { TaskView } from '../generated/api-types.js';
import type { HttpClient } from '../http/http-client.js';
import type { ServiceEvent, StatusEvent } from './stream-events.js';
import { isFinalStatus, taskEvents } from './task-events.js';

/** A ready service's endpoints: port name → `host:port`, with the host its tracker advertises. */
export interface ServiceEndpoints {
  taskId: string;
  /** The attempt that runs the service (a new one after a crash may run it elsewhere). */
  attempt: number;
  endpoints: Record<string, string>;
  /** ISO 8601: when it became ready; null when unknown. */
  readyAt: string | null;
  /** The tracker that runs it. */
  tracker: string | null;
}

export interface WaitForEndpointsOptions {
  /** Give up after this long (WaitTimeoutError); default: wait as long as the task runs. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface FollowEndpointsOptions {
  signal?: AbortSignal;
}

/** Called with the endpoints on each `ready`, and with null when they are withdrawn. */
export type EndpointsListener = (ready: ServiceEndpoints | null) => void;

function readyOf(event: ServiceEvent): ServiceEndpoints | null {
  if (event.state !== 'ready' || !event.endpoints) return null;
  const { taskId, attempt, endpoints, at, tracker } = event;
  return { taskId, attempt, endpoints, readyAt: at, tracker };
}

function sameEndpoints(a: ServiceEndpoints, b: ServiceEndpoints): boolean {
  const text = (e: ServiceEndpoints): string =>
    JSON.stringify([e.attempt, e.tracker, Object.entries(e.endpoints).sort()]);
  return text(a) === text(b);
}

/** A signal that fires with `outer` or once `timeoutMs` passes; `timedOut` says which. */
function deadline(outer: AbortSignal | undefined, timeoutMs: number | undefined) {
  const controller = new AbortController();
  let timedOut = false;
  const forward = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  const timer =
    timeoutMs === undefined
      ? null
      : setTimeout(() => {
          timedOut = true;
          controller.abort(new Error('timed out'));
        }, timeoutMs);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose(): void {
      if (timer !== null) clearTimeout(timer);
      outer?.removeEventListener('abort', forward);
    },
  };
}

/** The error for a task that ended first: its status and error, with its failure and exit codes. */
async function endedError(
  http: HttpClient,
  event: StatusEvent,
  signal: AbortSignal | undefined,
): Promise<TaskEndedError> {
  const task = await http
    .json<TaskView>(`/v1/tasks/${encodeURIComponent(event.taskId)}`, { signal })
    .catch(() => null);
  if (task === null) return new TaskEndedError(event.taskId, { status: event.status, error: event.reason });
  return new TaskEndedError(event.taskId, task);
}

/** `running, its service starting (why)`, for a timeout's message. */
function describeLast(status: StatusEvent | null, service: ServiceEvent | null): string {
  if (status === null) return 'no event came';
  if (status.status !== 'running') return `it is ${status.status}`;
  if (service === null || service.attempt !== status.attempt) return 'it is running, its service not started';
  return `it is running, its service ${service.state}${service.reason ? `: ${service.reason}` : ''}`;
}

/** Resolves with the task's endpoints once its service is ready (at once when it is now). */
export async function waitForEndpoints(
  http: HttpClient,
  taskId: string,
  options: WaitForEndpointsOptions = {},
): Promise<ServiceEndpoints> {
  const limit = deadline(options.signal, options.timeoutMs);
  let status: StatusEvent | null = null;
  let service: ServiceEvent | null = null;
  try {
    for await (const event of taskEvents(http, taskId, { signal: limit.signal })) {
      if (event.type === 'service') {
        service = event;
        const ready = readyOf(event);
        if (ready) return ready;
      } else if (event.type === 'status') {
        status = event;
        if (isFinalStatus(event.status)) throw await endedError(http, event, options.signal);
      }
    }
    throw new Error(`the events of task ${taskId} ended before its final status`);
  } catch (error) {
    if (!limit.timedOut() || options.signal?.aborted) throw error;
    const ms = options.timeoutMs ?? 0;
    throw new WaitTimeoutError(
      taskId,
      ms,
      `task ${taskId}'s service was not ready within ${ms} ms (${describeLast(status, service)})`,
    );
  } finally {
    limit.dispose();
  }
}

/**
 * Calls `onChange` with the endpoints each time the service becomes ready, and with null each time
 * they are withdrawn, until the task's final status, which it resolves with (after a last null
 * when the service was ready).
 */
export async function followEndpoints(
  http: HttpClient,
  taskId: string,
  onChange: EndpointsListener,
  options: FollowEndpointsOptions = {},
): Promise<StatusEvent> {
  const shown: { ready: ServiceEndpoints | null } = { ready: null };
  const change = (next: ServiceEndpoints | null): void => {
    const now = shown.ready;
    if (next === null ? now === null : now !== null && sameEndpoints(now, next)) return;
    shown.ready = next;
    onChange(next);
  };
  for await (const event of taskEvents(http, taskId, { signal: options.signal })) {
    if (event.type === 'service') change(readyOf(event));
    else if (event.type === 'status') {
      if (event.status !== 'running' || shown.ready?.attempt !== event.attempt) change(null);
      if (isFinalStatus(event.status)) return event;
    }
  }
  throw new Error(`the events of task ${taskId} ended before its final status`);
}
