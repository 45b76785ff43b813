/**
 * One task of the tasks table: a checkbox while it can be cancelled, its id (a link to its page),
 * name, executer, status (and why it failed; a service task's endpoint and uptime), tenant (admin
 * keys), priority, GPUs, when it was created, started and ended, and how long it ran (so far,
 * while it runs).
 */
import type { TaskSummary } from '@gpufleet/api-client';
import { ago, dateTime, duration } from '../../format.js';
import { href } from '../../router.js';
import { isLive, StatusBadge } from '../status-badge.js';
import { ServiceLine } from './service-line.js';
import { runTime, shortTime } from './task-times.js';

export interface TaskRowProps {
  task: TaskSummary;
  now: number;
  showTenant: boolean;
  /** Its GPU count, once known. */
  selected: boolean;
  onSelect: (on: boolean) => void;
}

function Started({ task, now }: { task: TaskSummary; now: number }) {
  if (!task.startedAt) {
    return task.status === 'queued' ? (
      <span class="muted">waiting {duration(now - Date.parse(task.createdAt))}</span>
    ) : (
      <span class="muted">never started</span>
    );
  }
  return (
    <span
      title={`started ${dateTime(task.startedAt)}${task.endedAt ? `, ended ${dateTime(task.endedAt)}` : ''}`}
    >
      {shortTime(task.startedAt, now)} → {task.endedAt ? shortTime(task.endedAt, now) : <em>now</em>}
    </span>
  );
}

export function TaskRow({ task, now, showTenant, selected, onSelect }: TaskRowProps) {
  const label = task.name ?? task.id;
  const failure = task.errorCode !== null && task.errorCode !== 'CANCELLED' ? task.errorCode : null;
  return (
    <tr class={selected ? 'selected' : undefined} data-task={task.id}>
      <td class="pick">
        {isLive(task.status) && (
          <input
            type="checkbox"
            checked={selected}
            aria-label={`Select ${label}`}
            onChange={(e) => onSelect(e.currentTarget.checked)}
          />
        )}
      </td>
      <td class="id">
        <a class="mono" href={href('task', { id: task.id })}>
          {task.id}
        </a>
      </td>
      <td class="name" title={task.name ?? undefined}>
        {task.name ?? <span class="muted">–</span>}
        {Object.keys(task.tags).length > 0 && (
          <small class="tags">
            {Object.entries(task.tags)
              .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
              .join(' · ')}
          </small>
        )}
      </td>
      <td>{task.executer}</td>
      <td class="state">
        <StatusBadge status={task.status} />
        {failure && (
          <code class="failure" title={task.error ?? undefined}>
            {failure}
          </code>
        )}
        <ServiceLine service={task.service} now={now} />
      </td>
      {showTenant && <td>{task.tenant}</td>}
      <td class="num">{task.priority}</td>
      <td class="num">{task.gpus}</td>
      <td title={`${dateTime(task.createdAt)} (${ago(task.createdAt, now)})`}>
        {shortTime(task.createdAt, now)}
      </td>
      <td>
        <Started task={task} now={now} />
      </td>
      <td class="num">{runTime(task, now)}</td>
    </tr>
  );
}
