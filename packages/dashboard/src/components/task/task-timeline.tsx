/**
 * The task's status timeline: each step (queued, running, uploading, its end; again for a retry or
 * a preemption) with its time, attempt, tracker, reason and how long it lasted, the current one
 * growing while the page is open; under a running step, a service's changes of state in that
 * attempt (starting, ready, restarting and why) as the page heard of them; and whether the page
 * hears of changes (`live`), lost the stream for a while (`reconnecting…`) or the task has ended.
 */
import {
  isFinalStatus,
  type ServiceEvent,
  type StatusEvent,
  type TaskStatus,
  type TaskView,
} from '@gpufleet/api-client';
import { dateTime, duration } from '../../format.js';
import { StatusBadge } from '../status-badge.js';
import { serviceWords } from './service-state.js';
import { buildTimeline } from './timeline.js';
import type { LiveState } from './use-task.js';

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  ended: 'ended',
};

function LiveMark({ live }: { live: LiveState }) {
  return (
    <span class={`live-mark ${live}`} role="status" aria-label={`Updates: ${LIVE_TEXT[live]}`}>
      {LIVE_TEXT[live]}
    </span>
  );
}

/** What comes after a step that is not the last one, shown dimmed after the current step. */
const NEXT: Partial<Record<TaskStatus, string>> = {
  queued: 'running',
  running: 'uploading',
  uploading: 'ends',
};

/** `13:04:11` (the full date and time in its title). */
const clock = (iso: string | null): string => (iso ? dateTime(iso).slice(11) : '–');

/** The service changes shown under a step, the latest ones (a service that keeps restarting). */
const SERVICE_CHANGES_SHOWN = 6;

function ServiceChanges({ events }: { events: readonly ServiceEvent[] }) {
  if (events.length === 0) return null;
  const shown = events.slice(-SERVICE_CHANGES_SHOWN);
  return (
    <ul class="service-changes" aria-label="Service changes">
      {events.length > shown.length && <li class="muted">{events.length - shown.length} earlier changes</li>}
      {shown.map((event, i) => (
        <li key={i} data-service-state={event.state} title={event.reason ?? undefined}>
          <time dateTime={event.at ?? undefined}>{clock(event.at)}</time> {serviceWords(event.state)}
          {event.reason ? `: ${event.reason}` : ''}
        </li>
      ))}
    </ul>
  );
}

export function TaskTimeline({
  task,
  events,
  serviceEvents = [],
  live,
  resync,
  now,
}: {
  task: TaskView;
  events: readonly StatusEvent[];
  serviceEvents?: readonly ServiceEvent[];
  live: LiveState;
  resync: string | null;
  now: number;
}) {
  const steps = buildTimeline(task, events);
  const last = steps[steps.length - 1];
  const next = last && !isFinalStatus(last.status) ? NEXT[last.status] : undefined;
  const created = Date.parse(task.createdAt);
  return (
    <section class="panel timeline-panel" aria-labelledby="timeline-title">
      <header class="panel-head">
        <h2 id="timeline-title">Timeline</h2>
        <LiveMark live={live} />
      </header>
      <ol class="timeline" aria-label="Status timeline">
        {steps.map((step, i) => {
          const next = steps[i + 1];
          const final = isFinalStatus(step.status);
          const current = i === steps.length - 1 && !final;
          const from = step.at === null ? null : Date.parse(step.at);
          const until = next ? (next.at === null ? null : Date.parse(next.at)) : current ? now : null;
          const lasted = from !== null && until !== null ? duration(until - from) : null;
          return (
            <li
              key={`${i}-${step.status}-${step.attempt}`}
              class={`step${current ? ' current' : ''}${final ? ' final' : ''}`}
              data-status={step.status}
              aria-current={current ? 'step' : undefined}
            >
              <div class="step-head">
                <StatusBadge status={step.status} />
                <time dateTime={step.at ?? undefined} title={dateTime(step.at)}>
                  {clock(step.at)}
                </time>
              </div>
              <div class="small muted">
                {step.attempt > 0 ? `attempt ${step.attempt}` : 'submitted'}
                {step.tracker ? ` · ${step.tracker}` : ''}
              </div>
              {lasted !== null && <div class="small">{current ? `for ${lasted} so far` : lasted}</div>}
              {final && from !== null && (
                <div class="small">{duration(from - created)} after it was submitted</div>
              )}
              {step.reason && (
                <div class="small reason" title={step.reason}>
                  {step.reason}
                </div>
              )}
              {step.status === 'running' && (
                <ServiceChanges events={serviceEvents.filter((e) => e.attempt === step.attempt)} />
              )}
            </li>
          );
        })}
        {next && (
          <li class="next-step" aria-hidden="true">
            <span class="badge">{next}</span>
            <div class="small muted">next</div>
          </li>
        )}
      </ol>
      {resync && <p class="note small">Some steps may be missing: {resync}</p>}
    </section>
  );
}
