/**
 * A service task's state as the task page shows it (service-panel.tsx), from two sources: the
 * record (GET /v1/tasks/:id: `service`, with its restarts and `readyAt`) and the stream's `service`
 * events (the client's `task.events()`), which come first. Each event has the record read again; until a read
 * that began after the event answers, the event's state and endpoints stand (a read already under
 * way may answer with the state before it). While the task is not running the service is not
 * either: no endpoints, whatever was last read; what it was (its restarts) is kept, for the panel
 * after the task ended, when the record no longer has a `service`. Its restarts are at least the
 * `restarting` events heard in the attempt, so the count moves with the event.
 */
import type { ServiceEvent, ServiceState, TaskStatus, TaskSummary, TaskView } from '@gpufleet/api-client';

export type ServiceView = NonNullable<TaskSummary['service']>;

/** `waiting-for-port` → `waiting for a port`. */
export const serviceWords = (state: ServiceState): string =>
  state === 'waiting-for-port' ? 'waiting for a port' : state;

/** The record as last read, with the stream position (`seq`) its read began at. */
export interface RecordRead {
  view: TaskView;
  seq: number;
  /** The last `service` a read found, with its attempt (kept after the service stopped). */
  lastService: { service: ServiceView; attempt: number } | null;
}

/** The last `service` event, with its position in the stream. */
export interface ServiceHeard {
  event: ServiceEvent;
  seq: number;
}

export interface ServiceNow {
  /** Its live state; null when it does not run now (the task ended or left `running`). */
  state: ServiceState | null;
  /** Port name → `host:port`, only while ready. */
  endpoints: Record<string, string> | null;
  /** ISO 8601, while ready. */
  readyAt: string | null;
  restarts: number;
  reason: string | null;
  /** Why its lifetime ended it (idle timeout, maximum age); null otherwise. */
  stopped: string | null;
}

/** The service as it is now; null for a task that runs no service (as far as the page knows). */
export function currentService(
  record: RecordRead,
  heard: ServiceHeard | null,
  status: TaskStatus,
  /** The `restarting` events heard in the current attempt (fewer than it had when the page opened late). */
  restartsHeard = 0,
): ServiceNow | null {
  const { view } = record;
  const last = record.lastService?.attempt === view.attempt ? record.lastService.service : null;
  const restarts = Math.max(view.service?.restarts ?? 0, last?.restarts ?? 0, restartsHeard);
  const stopped = view.serviceStopped;
  const event = heard && heard.event.attempt >= view.attempt ? heard : null;
  if (status !== 'running') {
    if (!last && !event && !view.service && stopped === null) return null;
    return { state: null, endpoints: null, readyAt: null, restarts, reason: null, stopped };
  }
  if (event && event.seq > record.seq) {
    const ready = event.event.state === 'ready';
    return {
      state: event.event.state,
      endpoints: ready ? event.event.endpoints : null,
      readyAt: ready ? (event.event.at ?? view.service?.readyAt ?? null) : null,
      restarts,
      reason: event.event.reason,
      stopped,
    };
  }
  const service = view.service;
  if (!service) return last || event ? { ...emptyRunning(restarts), stopped } : null;
  return {
    state: service.state,
    endpoints: service.state === 'ready' ? service.endpoints : null,
    readyAt: service.state === 'ready' ? service.readyAt : null,
    restarts,
    reason: service.reason,
    stopped,
  };
}

/** Running, and its service between two states the record told (no endpoints meanwhile). */
const emptyRunning = (restarts: number): Omit<ServiceNow, 'stopped'> => ({
  state: 'starting',
  endpoints: null,
  readyAt: null,
  restarts,
  reason: null,
});
