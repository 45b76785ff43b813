/**
 * One task, live: its record (GET /v1/tasks/:id) and its status events (`task.events()`, the
 * API's event stream), which say every transition as it happens; the record is read again after
 * each, so the header, the outputs and the GPU usage follow without a reload. No polling loop
 * stands in for the stream: only while the task is queued is the record read every QUEUED_EVERY_MS,
 * for what no event tells (its place in line, why it waits), and not while the tab is hidden.
 * A stream the client could not resume within its retry budget is `reconnecting` until it is open
 * again. A task the key may not see is `notFound`, exactly like one that does not exist.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiRequestError, isFinalStatus, type StatusEvent, type TaskView } from '@gpufleet/api-client';
import { useSession } from '../../session.js';
import { pause, reconnectDelayMs } from './pause.js';

const QUEUED_EVERY_MS = 5000;

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface TaskFeed {
  task: TaskView | null;
  notFound: boolean;
  /** Why the last read failed (the last record is kept meanwhile). */
  error: string | null;
  /** The status events since the page opened, the first being the status it had then. */
  events: StatusEvent[];
  live: LiveState;
  /** Why the stream lost transitions, when it did (some steps may be missing). */
  resync: string | null;
  /** Reads the record again now (after an action). */
  reload: () => void;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function useTask(id: string): TaskFeed {
  const { client } = useSession();
  const [task, setTask] = useState<TaskView | null>(null);
  const [notFound, setNotFound] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [events, setEvents] = useState<StatusEvent[]>([]);
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
      try {
        const view = await client.getTask(id, { signal: abort.signal });
        if (abort.signal.aborted) return;
        setTask(view);
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

  const found = task !== null;

  // The events: from the first read on, until the final status.
  useEffect(() => {
    if (!found) return;
    const abort = new AbortController();
    const follow = async (): Promise<void> => {
      for (let failures = 0; !abort.signal.aborted; failures++) {
        try {
          for await (const event of client.task(id).events({ signal: abort.signal })) {
            failures = 0;
            setLive('live');
            if (event.type === 'resync') setResync(event.reason);
            if (event.type !== 'status') continue;
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
  return { task, notFound, error, events, live, resync, reload };
}
