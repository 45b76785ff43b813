/**
 * Waiting on an in-process tracker's events (the tracker's tracker-events.ts) instead of sleeping or
 * polling: `nextEvent` resolves with the next event of a name that passes a predicate, and
 * `recordEvents` keeps every event the tracker emits, in order.
 */
import {
  TRACKER_EVENT_NAMES,
  type Tracker,
  type TrackerEventMap,
  type TrackerEventName,
} from '@gpufleet/tracker';

/** One event as it was emitted. */
export type RecordedEvent = {
  [K in TrackerEventName]: { name: K; payload: TrackerEventMap[K] };
}[TrackerEventName];

/** Listens on `tracker` for `name`; `off` removes the listener. */
function listen<K extends TrackerEventName>(
  tracker: Tracker,
  name: K,
  listener: (payload: TrackerEventMap[K]) => void,
): () => void {
  // EventEmitter's typing cannot follow a generic event name to its payload.
  const on = tracker.on.bind(tracker) as (name: K, listener: (payload: TrackerEventMap[K]) => void) => void;
  on(name, listener);
  return () => tracker.off(name, listener as never);
}

/** What an event says in a timeout's message: its name and payload, cut short. */
const brief = ({ name, payload }: RecordedEvent): string =>
  `${name} ${JSON.stringify(payload).slice(0, 160)}`;

/**
 * The next `name` event of `tracker` that passes `predicate`; rejects after `timeoutMs`, naming the
 * events the tracker emitted meanwhile (the last 12), so a timeout in CI says where it stood.
 */
export function nextEvent<K extends TrackerEventName>(
  tracker: Tracker,
  name: K,
  predicate: (payload: TrackerEventMap[K]) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<TrackerEventMap[K]> {
  const seen: RecordedEvent[] = [];
  const offs = TRACKER_EVENT_NAMES.map((any) =>
    listen(tracker, any, (payload) => seen.push({ name: any, payload } as RecordedEvent)),
  );
  const stopRecording = (): void => offs.forEach((off) => off());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      stopRecording();
      const meanwhile = seen.slice(-12).map(brief).join('; ') || 'none';
      reject(
        new Error(
          `no ${name} event from tracker ${tracker.name} within ${timeoutMs} ms; its events meanwhile (${seen.length}): ${meanwhile}`,
        ),
      );
    }, timeoutMs);
    const off = listen(tracker, name, (payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      off();
      stopRecording();
      resolve(payload);
    });
  });
}

/** Every event (of `names`) that `tracker` emits from now on, in order (the array fills as they come). */
export function recordEvents(
  tracker: Tracker,
  names: readonly TrackerEventName[] = TRACKER_EVENT_NAMES,
): RecordedEvent[] {
  const recorded: RecordedEvent[] = [];
  for (const name of names)
    listen(tracker, name, (payload) => recorded.push({ name, payload } as RecordedEvent));
  return recorded;
}
