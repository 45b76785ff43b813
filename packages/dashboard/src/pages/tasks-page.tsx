/**
 * The tasks: a table of them, newest first, filtered by status, executer, name, tags and (admin
 * keys) tenant, current or archived, 50 to a page. The view lives in the URL's hash query
 * (components/tasks/tasks-view.ts), so it can be bookmarked and the back button returns to it.
 * One search box opens a task by id or lists tasks by the start of their name. Tasks that have not
 * ended can be ticked and cancelled together. The page is read again every 5 s while the tab is
 * visible; what is ticked stays ticked.
 */
import { useState } from 'preact/hooks';
import type { Me } from '@gpufleet/api-client';
import { BulkCancel } from '../components/tasks/bulk-cancel.js';
import { EmptyTasks } from '../components/tasks/empty-tasks.js';
import { ListError } from '../components/tasks/list-error.js';
import { Pager } from '../components/tasks/pager.js';
import { isLive } from '../components/status-badge.js';
import { TaskFilters } from '../components/tasks/task-filters.js';
import { TaskSearch } from '../components/tasks/task-search.js';
import { TaskTable } from '../components/tasks/task-table.js';
import {
  isFiltered,
  listQuery,
  parseView,
  viewQuery,
  withoutFilters,
  type TasksView,
} from '../components/tasks/tasks-view.js';
import { useExecuters } from '../components/tasks/use-executers.js';
import { useTaskPages } from '../components/tasks/use-task-pages.js';
import { dateTime } from '../format.js';
import { replaceQuery } from '../router.js';
import { useSession } from '../session.js';
import '../components/tasks/tasks.css';

/** `Every tenant’s current tasks`, `alice’s archived tasks, 2026-12-01 to 2026-12-05`. */
function describeView(view: TasksView, me: Me): string {
  const whose =
    view.tenant !== null
      ? `${view.tenant}’s`
      : me.role === 'admin' && !view.archived
        ? 'Every tenant’s'
        : `${me.tenant}’s`;
  if (view.archived) return `${whose} archived tasks, ${view.from} to ${view.to}`;
  const created = view.from || view.to ? `, created ${view.from || '…'} to ${view.to || '…'}` : '';
  return `${whose} current tasks${created}`;
}

export function TasksPage({ query }: { query: URLSearchParams }) {
  const { client, me } = useSession();
  const admin = me.role === 'admin';
  const view = parseView(query);
  const key = viewQuery(view).toString();
  const pages = useTaskPages(client, listQuery(view, me), key);
  const executers = useExecuters(client);
  const [selection, setSelection] = useState<{ scope: string; ids: Set<string> }>({
    scope: '',
    ids: new Set(),
  });

  const show = (next: TasksView): void => replaceQuery(viewQuery(next));
  const page = pages.page;
  const tasks = page?.items ?? [];
  const now = Date.now();

  // Ticked tasks belong to one page of one view; those that ended since are no longer offered.
  const scope = `${key}#${pages.number}`;
  const ticked = selection.scope === scope ? selection.ids : new Set<string>();
  const cancellable = tasks.filter((t) => isLive(t.status) && ticked.has(t.id)).map((t) => t.id);
  const select = (ids: readonly string[], on: boolean): void => {
    const next = new Set(ticked);
    for (const id of ids) {
      if (on) next.add(id);
      else next.delete(id);
    }
    setSelection({ scope, ids: next });
  };
  const tenants = [...new Set([me.tenant, ...tasks.map((t) => t.tenant)])].sort();

  return (
    <section aria-labelledby="tasks-title" class="tasks-page">
      <header class="page-head">
        <div>
          <h1 id="tasks-title">Tasks</h1>
          <p class="muted">
            {describeView(view, me)}
            {isFiltered(view) && (
              <>
                {' · filtered · '}
                <button type="button" class="link" onClick={() => show(withoutFilters(view))}>
                  Clear filters
                </button>
              </>
            )}
          </p>
        </div>
        <TaskSearch onName={(name) => show({ ...view, name })} />
      </header>
      <TaskFilters view={view} onChange={show} admin={admin} executers={executers} tenants={tenants} />
      {pages.error !== null && (
        <ListError
          error={pages.error}
          actions={{
            clearFilters: () => show(withoutFilters(view)),
            clearTenant: () => show({ ...view, tenant: null }),
            newest: pages.newest,
          }}
        />
      )}
      {page === null && pages.error === null && <p class="loading">Loading tasks…</p>}
      {/* A page of another view is shown (dimmed) while this one loads, not when it failed. */}
      {page !== null && !(pages.stale && pages.error !== null) && (
        <>
          <div class="toolbar">
            {!view.archived && (
              <BulkCancel
                client={client}
                ids={cancellable}
                available={tasks.filter((t) => isLive(t.status)).length}
                onDone={(ids) => {
                  select(ids, false);
                  pages.refresh();
                }}
              />
            )}
            <span class="muted small live-note" aria-live="off">
              {view.archived ? 'Archived tasks no longer change' : 'Live: read every 5 s'}
              {` · read ${dateTime(new Date(page.readAt).toISOString()).slice(11)}`}
              {pages.stale && ' · loading…'}
            </span>
            <Pager
              number={pages.number}
              count={tasks.length}
              hasNext={!pages.stale && page.nextCursor !== null}
              onPrevious={pages.previous}
              onNext={pages.next}
              onNewest={pages.newest}
            />
          </div>
          {tasks.length > 0 ? (
            <TaskTable
              tasks={tasks}
              now={now}
              showTenant={admin}
              selected={ticked}
              onSelect={select}
              busy={pages.stale}
            />
          ) : (
            !pages.stale && (
              <EmptyTasks
                view={view}
                more={page.nextCursor !== null}
                onMore={pages.next}
                onClearFilters={() => show(withoutFilters(view))}
                onArchive={() =>
                  show({ ...view, archived: true, statuses: view.statuses.filter((s) => !isLive(s)) })
                }
              />
            )
          )}
        </>
      )}
    </section>
  );
}
