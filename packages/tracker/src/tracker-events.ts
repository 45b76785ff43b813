/**
 * The tracker's own events, in one typed map: the life of the attempts it runs and its recovery
 * work. `Tracker` is an EventEmitter over this map; its parts are handed one `emit` function
 * (`EmitTrackerEvent`) by the tracker that built them, never a global. Each event is also marked on
 * the log line that already records it, as the field `event: '<name>'` (messages and log volume
 * unchanged), so whoever reads a tracker's NDJSON log (the child-process tests) waits on that field,
 * never on the English text. The line's other fields are its own: most of the payload, not always
 * all of it.
 *
 * One attempt: claimed → spawned → exited → completed | retry-queued | handed-back | lost (an
 * attempt that ends before its spawn, an unknown executer say, goes claimed → completed).
 *
 * Where each is emitted, and the log line that carries it:
 * - `started`: tracker.ts, 'tracker started'; `stopping`: tracker.ts (close()), the bin's
 *   'shutting down: ...'; `stopped`: tracker.ts, 'tracker stopped';
 * - `waiting-for-redis`: tracker-connections.ts, 'waiting for Redis'; `redis-down`:
 *   tracker-outage.ts, the outage's first 'redis unreachable';
 * - `previous-life-recovered`: recover-previous-life.ts, 'recovered what a previous life of this
 *   tracker left';
 * - `waiting-for-tasks`: consumer-loop.ts, no line (one per blocking read); `claimed`:
 *   loop-claims.ts, 'task claimed' (debug level); `dead-lettered`: loop-claims.ts, 'task
 *   dead-lettered at claim';
 * - `spawned`, `exited`: run/attempt-process.ts, 'executer started', 'executer exited';
 * - `completed`, `retry-queued`, `handed-back`: run/attempt-writes.ts, 'task ended', 'failed
 *   attempt queued for a retry', 'task handed back to the queue'; `handed-back` of a claim that
 *   could not start: running-attempts.ts, 'handed back a task it could not start';
 * - `lost`: run/task-execution.ts ('lost the lease: ...' of run/lease-keeper.ts, 'lost the task
 *   before uploading outputs') and run/attempt-writes.ts ('completion refused: ...');
 * - `preempting`: preemption.ts, 'stopping tasks of lower priority for a task that does not fit';
 * - `requeued-orphan`: reclaim.ts, 'requeued a task whose tracker stopped running it';
 * - `unschedulable-checked`: queue-sweep.ts, no line (one per check; unschedulable-sweep.ts logs
 *   each task it ends);
 * - `drain-changed`: drains.ts, 'drained by an operator' / 'undrained by an operator';
 * - `gpu-unhealthy`: gpu/gpu-health.ts, 'GPU unhealthy: ...';
 * - `service-ready`, `service-restarting`, `service-waiting-for-port`, `service-stopped`:
 *   service/service-run.ts, 'service ready', 'service restarting', 'service waiting for a port',
 *   'service stopped'.
 */
import type { EventEmitter } from 'node:events';
import type { Logger, TaskFailureCode, TaskStatus } from '@gpufleet/core';

/** The attempt an event is about. */
export interface AttemptRef {
  taskId: string;
  attempt: number;
}

export interface TrackerEventMap {
  /** Registered, executers published, the consumer loop running. */
  started: { gpus: readonly number[]; cpuSlots: number; executers: string[] };
  /** Redis did not answer at start: the start waits for it (`redis`: the URL, password hidden). */
  'waiting-for-redis': { redis: string };
  /** Redis became unreachable (the first report of an outage; the log repeats, the event does not). */
  'redis-down': { error: string };
  /** At start, what an earlier life under this consumer name left was settled (only when it left some). */
  'previous-life-recovered': { killed: number; requeued: number; removed: number };
  /**
   * The consumer loop sent a blocking read: nothing it may take now, it waits for the queue's
   * events stream to move past `after` (a take rides behind the read).
   */
  'waiting-for-tasks': { after: string };
  /** A task was claimed, to start on `gpus` GPUs (0: a CPU slot). */
  claimed: AttemptRef & { stream: string; gpus: number; suspect: boolean };
  /** The claim dead-lettered the task instead (its attempts were exhausted). */
  'dead-lettered': { taskId: string; reason: string };
  /** The executer process started; `at` as in TaskEvent (epoch ms, when the exec went through). */
  spawned: AttemptRef & { pid: number | null; at: number; gpuIds: readonly number[]; executer: string };
  /** The executer process ended (its slots are free); `at` as in TaskEvent. */
  exited: AttemptRef & { exitCode: number | null; at: number };
  /** The attempt wrote the task's final status (`errorCode`: why it did not succeed, see errors.ts). */
  completed: AttemptRef & { status: TaskStatus; reason: string; errorCode?: TaskFailureCode | undefined };
  /** The attempt failed with retries left: the task waits `delayMs`, then runs again (`queued`: written). */
  'retry-queued': AttemptRef & { delayMs: number; queued: boolean };
  /**
   * The task went back first in line, the attempt not counted: at shutdown or preempted (`started`:
   * its process ran), or claimed when it could not start (`started` false). `handedBack`: the write took.
   */
  'handed-back': AttemptRef & {
    reason: string;
    handedBack: boolean;
    started: boolean;
    /** It was preempted for this task of higher priority (absent at shutdown). */
    preemptedBy?: string;
    /** `GPU_ERROR`: a GPU of the task failed under it (gpu/gpu-health.ts); absent otherwise. */
    errorCode?: TaskFailureCode;
  };
  /**
   * Another attempt holds the task now: this one writes nothing more. Found by the lease renewal
   * while running, before the upload, or when the completion was refused.
   */
  lost: AttemptRef & { stage: 'running' | 'upload' | 'completion' };
  /**
   * The first task in line (`taskId`, of `priority`) did not fit: this tracker stops `victims`, its
   * running preemptible tasks of lower priority, SIGKILL after `graceMs` (preemption.ts).
   */
  preempting: { taskId: string; priority: number; victims: string[]; graceMs: number };
  /** The sweep put back in line a task whose tracker (`from`) stopped running it. */
  'requeued-orphan': { taskId: string; from: string; via: 'liveness' | 'lease'; stream: string };
  /** The sweep checked for tasks no live tracker can run; `deadLettered` of them ended `dead`. */
  'unschedulable-checked': { deadLettered: number };
  /**
   * An operator's drain took effect here (`reason`) or was taken back (`reason` null): the whole
   * tracker (`gpu` null) or one GPU takes no new task; `by`: the API key that asked (drains.ts).
   */
  'drain-changed': { gpu: number | null; reason: string | null; by: string | null };
  /**
   * GPU `gpu` failed (`reason`: the Xid, the ECC count, off the bus) and is given to no task any
   * more; `taskIds`: the tasks whose processes ran on it, stopped and requeued (gpu/gpu-health.ts).
   */
  'gpu-unhealthy': { gpu: number; reason: string; taskIds: string[] };
  /**
   * A service (service/service-run.ts) passed its readiness check: its `endpoints` (name →
   * host:port) are in its record and its `ready` event in the queue's events stream.
   */
  'service-ready': AttemptRef & { endpoints: Readonly<Record<string, string>>; restarts: number };
  /** A service exited or failed its check (`reason`); it starts again after `delayMs` (`restarts`: this one included). */
  'service-restarting': AttemptRef & { reason: string; restarts: number; delayMs: number };
  /** A service waits for ports: GPUFLEET_PORT_RANGE has too few free (`reason` says what holds it). */
  'service-waiting-for-port': AttemptRef & { reason: string };
  /** A service was ended by its lifetime: no client connection for its idle timeout, or past its maximum age. */
  'service-stopped': AttemptRef & { why: 'idle' | 'max-age'; reason: string };
  /** close() began: nothing starts any more; `running` attempts get the shutdown grace. */
  stopping: { running: number };
  /** close() finished, `closeMs` after it began. */
  stopped: { closeMs: number };
}

export type TrackerEventName = keyof TrackerEventMap;

/** Every event's name, for whoever listens to all of them (an object first, so that none is left out). */
export const TRACKER_EVENT_NAMES = Object.keys({
  started: true,
  'waiting-for-redis': true,
  'redis-down': true,
  'previous-life-recovered': true,
  'waiting-for-tasks': true,
  claimed: true,
  'dead-lettered': true,
  spawned: true,
  exited: true,
  completed: true,
  'retry-queued': true,
  'handed-back': true,
  lost: true,
  preempting: true,
  'requeued-orphan': true,
  'unschedulable-checked': true,
  'drain-changed': true,
  'gpu-unhealthy': true,
  'service-ready': true,
  'service-restarting': true,
  'service-waiting-for-port': true,
  'service-stopped': true,
  stopping: true,
  stopped: true,
} satisfies Record<TrackerEventName, true>) as readonly TrackerEventName[];

/** What a tracker's parts are given to announce an event. */
export type EmitTrackerEvent = <K extends TrackerEventName>(name: K, payload: TrackerEventMap[K]) => void;

/** The field that marks a log line as the record of an event: `logger.info({ ...eventField('x') }, ...)`. */
export function eventField<K extends TrackerEventName>(name: K): { event: K } {
  return { event: name };
}

/**
 * What an attempt tells its embedder about its process (the tracker's `task` event, kept beside
 * `spawned` and `exited`). Times are epoch ms, sub-ms precise, of when it happened, not of when the
 * tracker heard of it: `spawned` when the exec went through and `exited` when the process was
 * reaped, both by the spawner's clock (by the tracker's where it starts programs itself).
 */
export type TaskEvent =
  | { type: 'spawned'; taskId: string; attempt: number; pid: number | null; at: number }
  | { type: 'exited'; taskId: string; attempt: number; exitCode: number | null; at: number };

/** The Tracker's EventEmitter map: each event's payload as its one argument, and `task`. */
export type TrackerEmitterEvents = { [K in TrackerEventName]: [TrackerEventMap[K]] } & { task: [TaskEvent] };

/** The `task` event that stands for `spawned` or `exited`; null for the other events. */
export function taskEventOf<K extends TrackerEventName>(
  name: K,
  payload: TrackerEventMap[K],
): TaskEvent | null {
  if (name === 'spawned') {
    const { taskId, attempt, pid, at } = payload as TrackerEventMap['spawned'];
    return { type: 'spawned', taskId, attempt, pid, at };
  }
  if (name === 'exited') {
    const { taskId, attempt, exitCode, at } = payload as TrackerEventMap['exited'];
    return { type: 'exited', taskId, attempt, exitCode, at };
  }
  return null;
}

/**
 * The `emit` a tracker hands its parts: emits on the tracker (and `task` for `spawned` and
 * `exited`); a listener that throws is logged, never thrown into the work that announced the event.
 */
export function trackerEmit(emitter: EventEmitter<TrackerEmitterEvents>, logger: Logger): EmitTrackerEvent {
  // EventEmitter's typing cannot follow a generic event name to its payload: checked by EmitTrackerEvent.
  const emit = emitter.emit.bind(emitter) as (name: string, payload: unknown) => boolean;
  return (name, payload) => {
    try {
      emit(name, payload);
      const task = taskEventOf(name, payload);
      if (task) emit('task', task);
    } catch (error) {
      logger.warn({ err: error, listenerOf: name }, 'a tracker event listener threw');
    }
  };
}
