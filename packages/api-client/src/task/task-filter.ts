/**
 * The filters of the task listings (`GpufleetClient.tasks`, `archivedTasks`) and how they become
 * the query of GET /v1/tasks: statuses comma-separated, tags as repeated `tag` values, times as
 * ISO strings.
 */
import type { ListTasksQuery } from '../generated/api-types.js';

export interface TaskFilter {
  /** One status or several. */
  status?: string | readonly string[];
  executer?: string;
  queue?: string;
  /** Only tasks of this name; a trailing `*` matches names starting with the rest. */
  name?: string;
  /** Only tasks with all of these tags: a value, or `true` for any value. */
  tags?: Readonly<Record<string, string | true>>;
  /**
   * Whose tasks: default your own tenant's. Another tenant's name, or `'*'` for every tenant's
   * (not with archived tasks), needs an admin key: a user key naming another is refused (403).
   */
  tenant?: string;
  /**
   * Tasks in Redis created from (and to) this time: a Date, ms since the epoch, or an ISO date
   * (UTC) or date and time (a date alone as `to` is the end of that day). For archived tasks,
   * when they ended (ArchiveFilter).
   */
  from?: Date | number | string;
  to?: Date | number | string;
}

/** Archived tasks of a time range (`archivedTasks`): those that ended long enough ago to leave Redis. */
export interface ArchiveFilter extends TaskFilter {
  /** Where the range starts: a Date, ms since the epoch, or an ISO date (UTC) or date and time. */
  from: Date | number | string;
  /** Where it ends (default now; a date alone is the end of that day); at most 31 days after `from`. */
  to?: Date | number | string;
}

export function timeQuery(time: Date | number | string | undefined): string | undefined {
  if (time === undefined) return undefined;
  return time instanceof Date ? time.toISOString() : String(time);
}

/** `{ sweep: 'lr', owner: true }` → the API's `tag` query values `sweep=lr`, `owner`. */
export function tagQuery(tags: TaskFilter['tags']): string[] | undefined {
  if (!tags) return undefined;
  return Object.entries(tags).map(([key, value]) => (value === true ? key : `${key}=${value}`));
}

/** The query of GET /v1/tasks for a filter. */
export function filterQuery(filter: TaskFilter): ListTasksQuery {
  return {
    status: typeof filter.status === 'string' ? filter.status : filter.status?.join(','),
    executer: filter.executer,
    queue: filter.queue,
    name: filter.name,
    tag: tagQuery(filter.tags),
    tenant: filter.tenant,
    from: timeQuery(filter.from),
    to: timeQuery(filter.to),
  };
}
