/**
 * The status filter: one checkbox per status, shown as a row of toggles; none ticked lists every
 * status. A group with a legend, so a screen reader says what the boxes choose.
 */
import type { TaskStatus } from '@gpufleet/api-client';
import { statusWords } from '../status-badge.js';
import { STATUSES } from './tasks-view.js';

export function StatusFilter({
  value,
  onChange,
  archived,
}: {
  value: readonly TaskStatus[];
  onChange: (statuses: TaskStatus[]) => void;
  /** Archived tasks have all ended: the statuses of a task that runs are not offered. */
  archived: boolean;
}) {
  const offered = archived
    ? STATUSES.filter((s) => s !== 'queued' && s !== 'running' && s !== 'uploading')
    : STATUSES;
  const toggle = (status: TaskStatus, on: boolean): void =>
    onChange(STATUSES.filter((s) => (s === status ? on : value.includes(s))));
  return (
    <fieldset class="status-filter">
      <legend>Status</legend>
      {offered.map((status) => (
        <label key={status} class={`toggle${value.includes(status) ? ' on' : ''}`}>
          <input
            type="checkbox"
            checked={value.includes(status)}
            onChange={(e) => toggle(status, e.currentTarget.checked)}
          />
          {statusWords(status)}
        </label>
      ))}
      {value.length > 0 && (
        <button type="button" class="link small" onClick={() => onChange([])}>
          any status
        </button>
      )}
    </fieldset>
  );
}
