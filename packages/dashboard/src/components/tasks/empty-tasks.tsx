/**
 * What the tasks page says when a page holds no task, and what to do next: look further (a page
 * the API cut short while older tasks follow), clear the filters, try the archive or other days,
 * or submit a first task.
 */
import type { TasksView } from './tasks-view.js';
import { isFiltered } from './tasks-view.js';

export function EmptyTasks({
  view,
  more,
  onMore,
  onClearFilters,
  onArchive,
}: {
  view: TasksView;
  /** Older tasks follow (the API looks at a bounded number of tasks per read). */
  more: boolean;
  onMore: () => void;
  onClearFilters: () => void;
  onArchive: () => void;
}) {
  if (more) {
    return (
      <div class="empty">
        <p>None of the tasks looked at so far match; older ones follow.</p>
        <button type="button" onClick={onMore}>
          Look further →
        </button>
      </div>
    );
  }
  if (isFiltered(view)) {
    return (
      <div class="empty">
        <p>No {view.archived ? 'archived ' : ''}tasks match these filters.</p>
        <button type="button" onClick={onClearFilters}>
          Clear filters
        </button>{' '}
        {!view.archived && (
          <button type="button" class="link" onClick={onArchive}>
            Look in the archive instead
          </button>
        )}
      </div>
    );
  }
  if (view.archived) {
    return (
      <div class="empty">
        <p>
          No tasks that ended from {view.from} to {view.to} have been archived. Pick other days: a task is
          archived once its retention in Redis is over.
        </p>
      </div>
    );
  }
  return (
    <div class="empty">
      <p>No tasks yet.</p>
      <p class="muted">
        Submit one with the command-line tool, <code>gpufleet submit sph --param steps=200</code>, or with the
        client library (<code>client.submit(…)</code>); it shows here as soon as it is queued.
      </p>
    </div>
  );
}
