/**
 * Reading the entries of a queue's streams: stream entry ids (order, time), the events stream's
 * status transitions (`id status attempt at tracker reason`, see lua/lib-common.lua appendEvent;
 * a service's changes add `service` and `endpoints`, lua/set-service.lua)
 * and a task's live log chunks (`s` stdout|stderr, `d` the bytes, see the tracker's LogPublisher).
 */
import { isServiceState, type ServiceEndpoints, type ServiceState } from './service-state.js';
import { isTaskStatus, type TaskStatus } from './task-status.js';

const ENTRY_ID = /^(\d+)-(\d+)$/;

/** Whether `value` is a complete stream entry id (`<ms>-<seq>`). */
export function isEntryId(value: string): boolean {
  return ENTRY_ID.test(value);
}

/** Orders two entry ids as Redis does (by milliseconds, then sequence); <0, 0 or >0. No allocation. */
export function compareEntryIds(a: string, b: string): number {
  const ad = a.indexOf('-');
  const bd = b.indexOf('-');
  // Without leading zeros, a longer number is a larger one; equal lengths compare as text.
  if (ad !== bd) return ad - bd;
  for (let i = 0; i < ad; i++) {
    const diff = a.charCodeAt(i) - b.charCodeAt(i);
    if (diff !== 0) return diff;
  }
  const al = a.length - ad;
  const bl = b.length - bd;
  if (al !== bl) return al - bl;
  for (let i = ad + 1; i < a.length; i++) {
    const diff = a.charCodeAt(i) - b.charCodeAt(i);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** The Redis time (ms) at which an entry was added. */
export function entryIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** Field/value pairs of a stream entry as a map of strings (Buffers decoded as UTF-8). */
export function entryFields(fields: ReadonlyArray<string | Buffer>): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) out.set(String(fields[i]), String(fields[i + 1]));
  return out;
}

/** One status transition from a queue's events stream. */
export interface TaskEvent {
  /** The events-stream entry id. */
  entryId: string;
  taskId: string;
  status: TaskStatus;
  attempt: number;
  /** When the transition happened (ms). */
  at: number;
  tracker: string | null;
  reason: string | null;
  /**
   * Set on a running service's change of state (service-state.ts, lua/set-service.lua): not a
   * status transition (`status` stays running).
   */
  service?: ServiceState;
  /** With `service` ready: port name → host:port. */
  endpoints?: ServiceEndpoints;
}

export function parseTaskEvent(entryId: string, fields: ReadonlyArray<string | Buffer>): TaskEvent | null {
  const f = entryFields(fields);
  const taskId = f.get('id');
  const status = f.get('status');
  if (!taskId || !status || !isTaskStatus(status)) return null;
  return {
    entryId,
    taskId,
    status,
    attempt: Number(f.get('attempt') ?? 0) || 0,
    at: Number(f.get('at') ?? 0) || 0,
    tracker: f.get('tracker') || null,
    reason: f.get('reason') || null,
    ...serviceOf(f),
  };
}

function serviceOf(f: Map<string, string>): Pick<TaskEvent, 'service' | 'endpoints'> {
  const service = f.get('service');
  if (!service || !isServiceState(service)) return {};
  const endpoints = f.get('endpoints');
  return endpoints ? { service, endpoints: JSON.parse(endpoints) as ServiceEndpoints } : { service };
}

export type LogStreamName = 'stdout' | 'stderr';

/** One chunk of a task's output from its live log stream. */
export interface LogChunk {
  entryId: string;
  stream: LogStreamName;
  data: Buffer;
}

/** Reads a log entry; read it with the Buffer variants of XRANGE/XREAD so bytes stay intact. */
export function parseLogChunk(entryId: string, fields: ReadonlyArray<string | Buffer>): LogChunk | null {
  let stream: LogStreamName | null = null;
  let data: Buffer | null = null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = String(fields[i]);
    const value = fields[i + 1] as string | Buffer;
    if (name === 's') {
      const s = String(value);
      stream = s === 'stdout' || s === 'stderr' ? s : null;
    } else if (name === 'd') data = Buffer.isBuffer(value) ? value : Buffer.from(value);
  }
  return stream && data ? { entryId, stream, data } : null;
}
