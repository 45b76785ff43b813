/**
 * Lists a tenant's archived tasks (GET /v1/tasks?archived=true): those that ended within a time
 * range of at most MAX_ARCHIVE_RANGE_DAYS, newest day first. The archive (core's task-archive.ts)
 * keeps a folder per tenant and UTC day a task ended, one object per task; within a day, tasks
 * come newest created first (task ids sort by creation time). A page lists the keys of the days it
 * visits (key listings only) and reads records (one GET each) only until it holds `limit` tasks or
 * examined its budget, then hands back a cursor: a busy day of 10,000 tasks costs a page its
 * `limit` reads, where core's listArchivedDay would read all 10,000 one after the other. The full
 * records are read, not the day's summaries: a task summary needs them (tags, priority, exit code),
 * and the live listing's filters then apply unchanged.
 */
import { archivedDayPrefix, readArchivedTask, type ArtifactStore, type ArchivedTask } from '@gpufleet/core';
import type { TaskStatus } from '@gpufleet/core';
import { ApiError } from '../errors.js';
import { TASK_ID } from '../schemas/common.js';
import { matchesLabels, type LabelFilter } from './label-filter.js';

/** The longest range one listing covers: a page visits at most this many days (plus one) of keys. */
export const MAX_ARCHIVE_RANGE_DAYS = 31;

const DAY_MS = 86_400_000;
/** Archived records read at once. */
const READ_CONCURRENCY = 16;

/** Milliseconds since the epoch, both ends included. */
export interface ArchiveRange {
  from: number;
  to: number;
}

export interface ArchiveQuery {
  tenant: string;
  range: ArchiveRange;
  statuses: ReadonlySet<TaskStatus> | null;
  executer: string | null;
  queue: string | null;
  labels: LabelFilter | null;
  limit: number;
  cursor: string | null;
  /** Tasks examined (records read) per page at most. */
  scanBudget?: number;
}

function invalid(field: string, reason: string): ApiError {
  return new ApiError('VALIDATION_FAILED', `invalid request: ${field}: ${reason}`, {
    details: { issues: [{ field, reason }] },
  });
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A time as the query gives it: ms since the epoch, an ISO date (UTC) or an ISO date and time. */
function parseTime(field: string, text: string, endOfDay: boolean): number {
  let ms = Number.NaN;
  if (/^\d{1,15}$/.test(text)) ms = Number(text);
  else if (DATE_ONLY.test(text)) ms = Date.parse(`${text}T00:00:00Z`) + (endOfDay ? DAY_MS - 1 : 0);
  else if (ISO_TIME.test(text)) ms = Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw invalid(field, `"${text}" is not a time: ms since the epoch, 2024-05-01 or 2024-05-01T12:00:00Z`);
  }
  return ms;
}

/**
 * The range of `from` and `to` (default: now). A date alone as `to` means the end of that UTC
 * day, so `from=2024-05-01&to=2024-05-07` is the whole week.
 */
/**
 * The live listing's `from` and `to`: the tasks created in that range (either may be left out), in
 * the same forms as the archive's; no longest range (the index is read by creation time).
 */
export function parseCreatedRange(
  from: string | undefined,
  to: string | undefined,
): { from: number | null; to: number | null } {
  const range = {
    from: from === undefined ? null : parseTime('query.from', from, false),
    to: to === undefined ? null : parseTime('query.to', to, true),
  };
  if (range.from !== null && range.to !== null && range.to < range.from)
    throw invalid('query.to', 'is before from');
  return range;
}

export function parseArchiveRange(
  from: string | undefined,
  to: string | undefined,
  now: number,
): ArchiveRange {
  if (from === undefined) throw invalid('query.from', 'required with archived=true: where the range starts');
  const range = {
    from: parseTime('query.from', from, false),
    to: to === undefined ? now : parseTime('query.to', to, true),
  };
  if (range.to < range.from) throw invalid('query.to', 'is before from');
  if (range.to - range.from > MAX_ARCHIVE_RANGE_DAYS * DAY_MS) {
    throw invalid('query.from', `is more than ${MAX_ARCHIVE_RANGE_DAYS} days before to: list shorter ranges`);
  }
  return range;
}

/** The UTC days (`yyyy-mm-dd`) the range touches, newest first. */
function daysOf(range: ArchiveRange): string[] {
  const days: string[] = [];
  for (let day = Math.floor(range.to / DAY_MS); day >= Math.floor(range.from / DAY_MS); day--) {
    days.push(new Date(day * DAY_MS).toISOString().slice(0, 10));
  }
  return days;
}

interface Place {
  day: string;
  id: string;
}

function encodeCursor(place: Place): string {
  return Buffer.from(JSON.stringify(['archive', place.day, place.id])).toString('base64url');
}

/** A cursor of this listing; a live listing's cursor (or anything else) is INVALID_CURSOR. */
function decodeCursor(cursor: string): Place {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 3 && value[0] === 'archive') {
      const [, day, id] = value as unknown[];
      if (typeof day === 'string' && DATE_ONLY.test(day) && typeof id === 'string' && TASK_ID.test(id)) {
        return { day, id };
      }
    }
  } catch {
    // falls through to the error below
  }
  throw new ApiError('INVALID_CURSOR', 'the cursor is not one this API handed out for archived=true');
}

/** The ids of the tasks the archive lists for the tenant's day, newest created first. */
async function idsOf(store: ArtifactStore, tenant: string, day: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of store.list(archivedDayPrefix(tenant, day))) {
    const id = info.key.slice(info.key.lastIndexOf('/') + 1).replace(/\.json$/, '');
    if (TASK_ID.test(id)) ids.push(id);
  }
  return ids.sort().reverse();
}

function matches(task: ArchivedTask, query: ArchiveQuery): boolean {
  const endedAt = task.endedAt ?? task.createdAt;
  if (task.tenant !== query.tenant || endedAt < query.range.from || endedAt > query.range.to) return false;
  if (query.statuses && !query.statuses.has(task.status)) return false;
  if (query.executer !== null && task.executer !== query.executer) return false;
  if (query.queue !== null && task.queue !== query.queue) return false;
  return !query.labels || matchesLabels(task, query.labels);
}

export async function listArchivedTasks(
  store: ArtifactStore,
  query: ArchiveQuery,
): Promise<{ items: ArchivedTask[]; nextCursor: string | null }> {
  const after = query.cursor === null ? null : decodeCursor(query.cursor);
  const budget = query.scanBudget ?? Math.max(200, query.limit * 2);
  const items: ArchivedTask[] = [];
  let examined = 0;
  let last: Place | null = null;
  for (const day of daysOf(query.range)) {
    if (after && day > after.day) continue;
    let ids = await idsOf(store, query.tenant, day);
    if (after && day === after.day) ids = ids.filter((id) => id < after.id);
    for (let i = 0; i < ids.length;) {
      // Tasks are left in the range: the cursor says where the next page goes on.
      if (last && (items.length >= query.limit || examined >= budget)) {
        return { items, nextCursor: encodeCursor(last) };
      }
      const size = Math.min(READ_CONCURRENCY, budget - examined, query.limit - items.length);
      const batch = ids.slice(i, i + size);
      const tasks = await Promise.all(batch.map((id) => readArchivedTask(store, id)));
      for (const [j, task] of tasks.entries()) {
        examined++;
        last = { day, id: batch[j] as string };
        if (task && matches(task, query)) items.push(task);
      }
      i += batch.length;
    }
  }
  return { items, nextCursor: null };
}
