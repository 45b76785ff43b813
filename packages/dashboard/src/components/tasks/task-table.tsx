/**
 * The tasks table, newest first, with a checkbox per task that can still be cancelled and one in
 * the header for all of those on the page (half-ticked when some are). While another view loads,
 * the table shown is the previous one, dimmed and marked busy.
 */
import type { TaskSummary } from '@gpufleet/api-client';
import { isLive } from '../status-badge.js';
import { TaskRow } from './task-row.js';

export function TaskTable({
  tasks,
  now,
  showTenant,
  selected,
  onSelect,
  busy,
}: {
  tasks: readonly TaskSummary[];
  now: number;
  showTenant: boolean;
  selected: ReadonlySet<string>;
  onSelect: (ids: readonly string[], on: boolean) => void;
  busy: boolean;
}) {
  const cancellable = tasks.filter((t) => isLive(t.status)).map((t) => t.id);
  const picked = cancellable.filter((id) => selected.has(id)).length;
  return (
    <div class="table-wrap">
      <table class={`tasks${busy ? ' busy' : ''}`} aria-label="Tasks" aria-busy={busy}>
        <thead>
          <tr>
            <th class="pick">
              {cancellable.length > 0 && (
                <input
                  type="checkbox"
                  aria-label={`Select all ${cancellable.length} tasks on this page that can be cancelled`}
                  checked={picked > 0 && picked === cancellable.length}
                  indeterminate={picked > 0 && picked < cancellable.length}
                  onChange={(e) => onSelect(cancellable, e.currentTarget.checked)}
                />
              )}
            </th>
            <th>Task</th>
            <th>Name</th>
            <th>Executer</th>
            <th>Status</th>
            {showTenant && <th>Tenant</th>}
            <th class="num" title="higher starts first">
              Priority
            </th>
            <th class="num">GPUs</th>
            <th>Created</th>
            <th>Started → ended</th>
            <th class="num">Run time</th>
          </tr>
        </thead>
        <tbody>
          {tasks.map((task) => (
            <TaskRow
              key={task.id}
              task={task}
              now={now}
              showTenant={showTenant}
              selected={selected.has(task.id)}
              onSelect={(on) => onSelect([task.id], on)}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}
