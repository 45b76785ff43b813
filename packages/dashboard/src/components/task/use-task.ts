/**
 * One task, live: its record (GET /v1/tasks/:id) and its events (the client's `task.events()`),
 * whose status events say every transition as it happens and whose service events every change of
 * a service task's service (ready with its endpoints, restarting...); the record is read again
 * after each, so the header, the service, the outputs and the GPU usage follow without a reload. No
 * polling loop stands in for the stream: only while the task is queued is the record read every
 * QUEUED_EVERY_MS, for what no event tells (its place in line, why it waits), and not while the tab
 * is hidden.
 * A stream the client could not resume within its retry budget is `reconnecting` until it is open
 * again. A task the key may not see is `notFound`, exactly like one that does not exist.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiRequestError,
  isFinalStatus,
  type ServiceEvent,
  type StatusEvent,
  type TaskView,
} from '@gpufleet/api-client';
import { useSession } from '../../session.js';
import { pause, reconnectDelayMs } from './pause.js';
import { currentService, type RecordRead, type ServiceHeard, type ServiceNow } from './service-state.js';

const QUEUED_EVERY_MS = 5000;

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface TaskFeed {
  task: TaskView | null;
  notFound: boolean;
  /** Why the last read failed (the last record is kept meanwhile). */
  error: string | null;
  /** The status events since the page opened, the first being the status it had then. */
  events: StatusEvent[];
  /** The service events since the page opened (a change of state each), for the timeline. */
  serviceEvents: ServiceEvent[];
  /** A service task's service as it is now (service-state.ts); null for another task. */
  service: ServiceNow | null;
  live: LiveState;
  /** Why the stream lost transitions, when it did (some steps may be missing). */
  resync: string | null;
  /** Reads the record again now (after an action). */
  reload: () => void;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const sameService = (a: ServiceEvent, b: ServiceEvent): boolean =>
  a.attempt === b.attempt &&
  a.state === b.state &&
  a.reason === b.reason &&
  JSON.stringify(a.endpoints) === JSON.stringify(b.endpoints);

export function useTask(id: string): TaskFeed {
  const { client } = useSession();
  const [record, setRecord] = useState<RecordRead | null>(null);
  const [notFound, setNotFound] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [events, setEvents] = useState<StatusEvent[]>([]);
  const [serviceEvents, setServiceEvents] = useState<ServiceEvent[]>([]);
  const [heard, setHeard] = useState<ServiceHeard | null>(null);
  /** Service events heard so far: a read that began after one knows of it. */
  const seqRef = useRef(0);
  const [live, setLive] = useState<LiveState>('connecting');
  const [resync, setResync] = useState<string | null>(null);
  const reloadRef = useRef<() => void>(() => undefined);

  // The record: read now, and again whenever asked; one read at a time, a request made meanwhile
  // runs once the current one is done.
  useEffect(() => {
    const abort = new AbortController();
    let running = false;
    let again = false;
    const read = async (): Promise<void> => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      const seq = seqRef.current;
      try {
        const view = await client.getTask(id, { signal: abort.signal });
        if (abort.signal.aborted) return;
        setRecord((previous) => ({
          view,
          seq,
          lastService: view.service
            ? { service: view.service, attempt: view.attempt }
            : (previous?.lastService ?? null),
        }));
        setError(null);
      } catch (caught) {
        if (abort.signal.aborted) return;
        if (caught instanceof ApiRequestError && caught.status === 404) setNotFound(true);
        else setError(message(caught));
      } finally {
        running = false;
      }
      if (again && !abort.signal.aborted) {
        again = false;
        void read();
      }
    };
    reloadRef.current = () => void read();
    void read();
    return () => abort.abort();
  }, [client, id]);

  const task = record?.view ?? null;
  const found = task !== null;

  // The events: from the first read on, until the final status.
  useEffect(() => {
    if (!found) return;
    const abort = new AbortController();
    const follow = async (): Promise<void> => {
      // The client drops a repeat of the last status after it resumed the stream; a stream opened
      // again here starts with the current status (and service state) too: not a change.
      let lastStatus: StatusEvent | null = null;
      let lastService: ServiceEvent | null = null;
      for (let failures = 0; !abort.signal.aborted; failures++) {
        try {
          for await (const event of client.task(id).events({ signal: abort.signal })) {
            failures = 0;
            setLive('live');
            if (event.type === 'resync') setResync(event.reason);
            if (event.type === 'service') {
              const seq = ++seqRef.current;
              setHeard({ event, seq });
              if (!lastService || !sameService(lastService, event))
                setServiceEvents((all) => [...all, event]);
              lastService = event;
              reloadRef.current();
            }
            if (event.type !== 'status') continue;
            if (lastStatus?.status === event.status && lastStatus.attempt === event.attempt) continue;
            lastStatus = event;
            setEvents((previous) => [...previous, event]);
            reloadRef.current();
            if (isFinalStatus(event.status)) {
              setLive('ended');
              return;
            }
          }
          return;
        } catch (caught) {
          if (abort.signal.aborted) return;
          if (caught instanceof ApiRequestError && caught.status === 404) return setNotFound(true);
          // The client already reconnected within its retry budget: the page says so and opens
          // the stream again after a pause, longer each time.
          setLive('reconnecting');
          await pause(reconnectDelayMs(failures), abort.signal);
        }
      }
    };
    void follow();
    return () => abort.abort();
  }, [client, id, found]);

  // While it waits: its place in line and why, which no event tells.
  const queued = task?.status === 'queued';
  useEffect(() => {
    if (!queued) return;
    const timer = setTimeout(() => {
      if (document.visibilityState === 'visible') reloadRef.current();
    }, QUEUED_EVERY_MS);
    const visible = (): void => {
      if (document.visibilityState === 'visible') reloadRef.current();
    };
    document.addEventListener('visibilitychange', visible);
    return () => {
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', visible);
    };
  }, [queued, task]);

  const reload = useCallback(() => reloadRef.current(), []);
  const status = events.at(-1)?.status ?? task?.status ?? 'queued';
  const restartsHeard = serviceEvents.filter(
    (e) => e.state === 'restarting' && e.attempt === task?.attempt,
  ).length;
  const service = record ? currentService(record, heard, status, restartsHeard) : null;
  return { task, notFound, error, events, serviceEvents, service, live, resync, reload };
}
