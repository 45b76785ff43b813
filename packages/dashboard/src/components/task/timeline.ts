/**
 * The steps of a task's status timeline (queued → running → … → its end), from two sources: the
 * record (createdAt, startedAt, endedAt: what happened before the page opened) and the status
 * events the page received since (every transition, with its attempt, tracker and reason: a
 * preemption, a retry, a lost tracker). The events stream starts with the status the task has when
 * it opens, so a page opened late has the record's steps before it; a step the events already have
 * is not added again from the record.
 */
import { isFinalStatus, type StatusEvent, type TaskStatus, type TaskView } from '@gpufleet/api-client';

export interface TimelineStep {
  status: TaskStatus;
  attempt: number;
  /** ISO 8601; null when unknown. */
  at: string | null;
  tracker: string | null;
  reason: string | null;
}

const time = (step: TimelineStep): number => (step.at === null ? NaN : Date.parse(step.at));

/** Adds `step` after the last step that is not later than it (unknown times go last). */
function insertByTime(steps: TimelineStep[], step: TimelineStep): void {
  const t = time(step);
  let at = steps.length;
  if (!Number.isNaN(t)) {
    while (
      at > 0 &&
      (Number.isNaN(time(steps[at - 1] as TimelineStep)) || time(steps[at - 1] as TimelineStep) > t)
    )
      at--;
  }
  steps.splice(at, 0, step);
}

export function buildTimeline(task: TaskView, events: readonly StatusEvent[]): TimelineStep[] {
  const steps: TimelineStep[] = [
    { status: 'queued', attempt: 0, at: task.createdAt, tracker: null, reason: null },
  ];
  for (const event of events) {
    const step: TimelineStep = {
      status: event.status,
      attempt: event.attempt,
      at: event.at,
      tracker: event.tracker,
      reason: event.reason,
    };
    const last = steps[steps.length - 1] as TimelineStep;
    if (last.status === step.status && last.attempt === step.attempt) {
      // The same step told twice (the record's `queued` and the stream's first status): keep what is known.
      steps[steps.length - 1] = {
        ...last,
        attempt: step.attempt,
        at: last.at ?? step.at,
        tracker: step.tracker ?? last.tracker,
        reason: step.reason ?? last.reason,
      };
    } else {
      steps.push(step);
    }
  }
  // What the record knows and the events did not tell (the page opened after it).
  if (task.startedAt !== null && !steps.some((s) => s.status === 'running')) {
    insertByTime(steps, {
      status: 'running',
      attempt: task.attempt,
      at: task.startedAt,
      tracker: task.tracker,
      reason: null,
    });
  }
  if (isFinalStatus(task.status) && !steps.some((s) => s.status === task.status)) {
    insertByTime(steps, {
      status: task.status,
      attempt: task.attempt,
      at: task.endedAt,
      tracker: task.tracker,
      reason: task.error,
    });
  }
  // A step told by an event without a time: the record's, when it is that step.
  return steps.map((step) => {
    if (step.at !== null) return step;
    if (step.status === 'running' && step.attempt === task.attempt) return { ...step, at: task.startedAt };
    if (isFinalStatus(step.status)) return { ...step, at: task.endedAt };
    return step;
  });
}
