/**
 * What the tasks page shows, as it lives in the URL's hash query, so a filtered view is a link
 * that can be bookmarked and that the back button comes back to:
 * `#/tasks?status=queued,running&executer=sph&name=sweep-*&tag=sweep=dx&tenant=alice`, and for the
 * archive `archived=1&from=2026-12-01&to=2026-12-05`; `from`/`to` without `archived`, when current
 * tasks were created; `size` changes the page size (default 50).
 * Turned into the query of `GET /v1/tasks` here, and nowhere else.
 */
import { TASK_STATUSES, type ListTasksQuery, type Me, type TaskStatus } from '@gpufleet/api-client';

/** Every status, in the order a task goes through them. */
export const STATUSES = TASK_STATUSES;

export const PAGE_SIZE = 50;
const MIN_PAGE_SIZE = 5;
const MAX_PAGE_SIZE = 200;
/** The archive's default range: the last week. */
const ARCHIVE_DAYS = 7;
/** The most days one archive listing covers (the API's limit). */
export const MAX_ARCHIVE_DAYS = 31;

/** A task id (core's TASK_ID_PATTERN): 26 characters of Crockford's base32, lower case. */
export const TASK_ID = /^[0-9a-hjkmnp-tv-z]{26}$/;

export interface TasksView {
  statuses: TaskStatus[];
  executer: string | null;
  /** Exact, or a prefix with a trailing `*`. */
  name: string | null;
  /** `key=value`, or `key` for any value; all must match. */
  tags: string[];
  /** Whose tasks: a tenant's name, or null for the default (an admin's: every tenant's; a user's: its own). */
  tenant: string | null;
  archived: boolean;
  /**
   * Archived tasks that ended from this UTC day (`YYYY-MM-DD`) to `to`, inclusive; current tasks
   * created from and to them ('': no bound; the archive always has a range).
   */
  from: string;
  to: string;
  pageSize: number;
}

const isStatus = (s: string): s is TaskStatus => (STATUSES as readonly string[]).includes(s);

/** `YYYY-MM-DD` of the UTC day `days` before now. */
export function utcDay(daysAgo = 0, now = Date.now()): string {
  return new Date(now - daysAgo * 86_400_000).toISOString().slice(0, 10);
}

export function parseView(query: URLSearchParams): TasksView {
  const text = (name: string): string | null => query.get(name)?.trim() || null;
  const size = Number(query.get('size'));
  const archived = query.get('archived') === '1';
  return {
    statuses: (query.get('status') ?? '').split(',').filter(isStatus),
    executer: text('executer'),
    name: text('name'),
    tags: query.getAll('tag').filter((t) => t.trim() !== ''),
    tenant: text('tenant') === '*' ? null : text('tenant'),
    archived,
    from: text('from') ?? (archived ? utcDay(ARCHIVE_DAYS) : ''),
    to: text('to') ?? (archived ? utcDay() : ''),
    pageSize: Number.isInteger(size) && size >= MIN_PAGE_SIZE && size <= MAX_PAGE_SIZE ? size : PAGE_SIZE,
  };
}

/** The hash query of `view`: what differs from the defaults, in one order (so equal views are equal links). */
export function viewQuery(view: TasksView): URLSearchParams {
  const query = new URLSearchParams();
  if (view.statuses.length > 0)
    query.set('status', STATUSES.filter((s) => view.statuses.includes(s)).join(','));
  if (view.executer) query.set('executer', view.executer);
  if (view.name) query.set('name', view.name);
  for (const tag of view.tags) query.append('tag', tag);
  if (view.tenant) query.set('tenant', view.tenant);
  if (view.archived) query.set('archived', '1');
  if (view.from) query.set('from', view.from);
  if (view.to) query.set('to', view.to);
  if (view.pageSize !== PAGE_SIZE) query.set('size', String(view.pageSize));
  return query;
}

/** Whether any filter narrows the listing (the time range of the archive is not a filter). */
export function isFiltered(view: TasksView): boolean {
  return view.statuses.length > 0 || view.executer !== null || view.name !== null || view.tags.length > 0;
}

/** `view` without its filters (statuses, executer, name, tags); whose tasks and which listing stay. */
export function withoutFilters(view: TasksView): TasksView {
  return { ...view, statuses: [], executer: null, name: null, tags: [] };
}

/**
 * The query of `GET /v1/tasks` for `view` (without the cursor). An admin key lists every tenant's
 * tasks unless the view names one; the archive is kept per tenant, so there an admin without a
 * tenant gets its own.
 */
export function listQuery(view: TasksView, me: Me): ListTasksQuery {
  const admin = me.role === 'admin';
  const tenant = view.tenant ?? (admin && !view.archived ? '*' : undefined);
  return {
    status: view.statuses.length > 0 ? view.statuses.join(',') : undefined,
    executer: view.executer ?? undefined,
    name: view.name ?? undefined,
    tag: view.tags.length > 0 ? view.tags : undefined,
    limit: view.pageSize,
    tenant,
    ...(view.archived && { archived: true }),
    ...(view.from && { from: view.from }),
    ...(view.to && { to: view.to }),
  };
}

/** The defaults of a listing's time range: the archive's last week, no bound for current tasks. */
export function defaultRange(archived: boolean): { from: string; to: string } {
  return archived ? { from: utcDay(ARCHIVE_DAYS), to: utcDay() } : { from: '', to: '' };
}

/** Why the range cannot be listed, or null when it can. */
export function rangeProblem(view: TasksView): string | null {
  const from = Date.parse(view.from);
  const to = Date.parse(view.to);
  if (!view.archived)
    return view.from && view.to && to < from ? 'The range ends before it starts: swap the days.' : null;
  if (Number.isNaN(from)) return 'Pick the first day of the range.';
  if (Number.isNaN(to)) return 'Pick the last day of the range.';
  if (to < from) return 'The range ends before it starts: swap the days.';
  if ((to - from) / 86_400_000 + 1 > MAX_ARCHIVE_DAYS)
    return `The archive is read at most ${MAX_ARCHIVE_DAYS} days at a time: narrow the range.`;
  return null;
}
