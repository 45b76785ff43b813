/**
 * One list of the dead-letters page (the dead tasks, or the recent failures): per task, what it
 * was, why it ended (its failure code, what that means, and the error as the tracker wrote it),
 * how many times it was started, on which tracker, when, and Retry. Counts by failure code above
 * it, to see at a glance whether one cause dominates.
 */
import type { ComponentChildren } from 'preact';
import type { GpufleetClient, TaskList, TaskSummary } from '@gpufleet/api-client';
import { ago, dateTime } from '../../format.js';
import { href } from '../../router.js';
import { failureHint } from './failure-codes.js';
import { RetryButton, useRetry } from './retry-button.js';
import { StatusBadge } from '../status-badge.js';
import { shortTime } from './task-times.js';

/** The error's first line in the cell; the rest (a stderr tail) behind "more". */
function ErrorText({ text }: { text: string | null }) {
  if (!text) return null;
  const [first = '', ...rest] = text.split('\n');
  if (rest.join('').trim() === '') return <p class="error-text">{first}</p>;
  return (
    <details class="error-text">
      <summary>
        {first}{' '}
        <span class="muted">
          ({rest.length} more {rest.length === 1 ? 'line' : 'lines'})
        </span>
      </summary>
      <pre>{rest.join('\n')}</pre>
    </details>
  );
}

function DeadRow({
  task,
  client,
  now,
  showTenant,
}: {
  task: TaskSummary;
  client: GpufleetClient;
  now: number;
  showTenant: boolean;
}) {
  const label = task.name ?? task.id;
  const { state, retry } = useRetry(client, task.id);
  return (
    <>
      <tr data-task={task.id}>
        <td class="what">
          <strong>{task.name ?? <span class="muted">unnamed</span>}</strong>
          <a class="mono small block" href={href('task', { id: task.id })}>
            {task.id}
          </a>
        </td>
        {showTenant && <td>{task.tenant}</td>}
        <td>{task.executer}</td>
        <td class="why">
          <div class="why-head">
            <StatusBadge status={task.status} />
            {task.errorCode && <code class="failure">{task.errorCode}</code>}
            {failureHint(task.errorCode) && <span class="muted small">{failureHint(task.errorCode)}</span>}
          </div>
          <ErrorText text={task.error} />
        </td>
        <td class="num">{task.attempt === 0 ? <span class="muted">never started</span> : task.attempt}</td>
        <td class="tracker-name">{task.tracker ?? <span class="muted">–</span>}</td>
        <td title={dateTime(task.endedAt)}>
          {shortTime(task.endedAt, now)}
          <small class="muted block">{ago(task.endedAt, now)}</small>
        </td>
        <td class="act">
          <RetryButton state={state} retry={retry} label={label} />
        </td>
      </tr>
      {state.kind === 'failed' && (
        <tr class="retry-failed" data-retry-of={task.id}>
          <td colSpan={showTenant ? 8 : 7} role="alert">
            Could not retry {label}: {state.message}
          </td>
        </tr>
      )}
    </>
  );
}

export function DeadLetterTable({
  id,
  title,
  intro,
  list,
  error,
  client,
  showTenant,
  empty,
  allHref,
}: {
  id: string;
  title: string;
  intro: ComponentChildren;
  list: TaskList | null;
  error: string | null;
  client: GpufleetClient;
  showTenant: boolean;
  /** What an empty list means. */
  empty: ComponentChildren;
  /** The tasks page listing them all. */
  allHref: string;
}) {
  const now = Date.now();
  const counts = new Map<string, number>();
  for (const task of list?.items ?? [])
    counts.set(task.errorCode ?? 'no code', (counts.get(task.errorCode ?? 'no code') ?? 0) + 1);
  return (
    <section class="dead-letters" aria-labelledby={`${id}-title`}>
      <header class="section-head">
        <h2 id={`${id}-title`}>
          {title}
          {list && (
            <span class="count">
              {list.items.length}
              {list.nextCursor ? '+' : ''}
            </span>
          )}
        </h2>
        {[...counts].map(([code, n]) => (
          <span key={code} class="chip">
            <code>{code}</code> × {n}
          </span>
        ))}
      </header>
      <p class="muted intro">{intro}</p>
      {error && (
        <p class="error" role="alert">
          Could not read them: {error}. Trying again; what is shown is as last read.
        </p>
      )}
      {list === null && !error && <p class="loading">Loading…</p>}
      {list !== null && list.items.length === 0 && <div class="empty">{empty}</div>}
      {list !== null && list.items.length > 0 && (
        <div class="table-wrap">
          <table class="dead" aria-label={title}>
            <thead>
              <tr>
                <th>Task</th>
                {showTenant && <th>Tenant</th>}
                <th>Executer</th>
                <th>Why it ended</th>
                <th class="num">Attempts</th>
                <th>Tracker</th>
                <th>Ended</th>
                <th>
                  <span class="sr-only">Retry</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((task) => (
                <DeadRow key={task.id} task={task} client={client} now={now} showTenant={showTenant} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list?.nextCursor && (
        <p class="small">
          Showing the newest {list.items.length}. <a href={allHref}>All of them in the task list →</a>
        </p>
      )}
    </section>
  );
}
