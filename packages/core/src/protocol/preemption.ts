/**
 * Preemption (lua/preempt.lua): a tracker whose free slots do not fit the first task in line, but
 * would once some of its running tasks of lower priority that were submitted preemptible stopped,
 * records that it stops them for that task, in one step that checks every condition. The tracker
 * then stops them (SIGTERM, SIGKILL after its preemption grace) and hands them back without
 * counting an attempt. Which tasks to stop is the tracker's choice (tracker/src/preemption.ts);
 * whether it may is decided here.
 */
import type { Redis } from 'ioredis';
import { keyTemplate, type QueueKeys } from '../keys.js';
import { stringsReply } from '../redis-replies.js';
import { runScript } from '../run-script.js';
import { argvHead } from './argv-head.js';

/**
 * How long past the victims' grace a preemption stays recorded: while it is, no other tracker
 * preempts for the same task (the victims' hand-back and the take that follows fit in it).
 */
export const PREEMPTION_MARGIN_MS = 3000;

export interface PreemptRequest {
  consumer: string;
  /** The first task in line, which the victims make room for. */
  taskId: string;
  /** The running attempts to stop, each by its lease token. */
  victims: ReadonlyArray<{ taskId: string; token: string }>;
  /** How long the victims have between SIGTERM and SIGKILL. */
  graceMs: number;
  now: number;
}

export type PreemptResult =
  /** Recorded: stop the victims now. */
  | { kind: 'preempted' }
  /** Another preemption for that task is under way (by `tracker`, alive). */
  | { kind: 'busy'; tracker: string }
  /** The task no longer waits (taken, ended), or is a suspect (it waits for an idle tracker). */
  | { kind: 'not-waiting'; status: string }
  /** A victim may not be stopped (`reason`); nothing was written. */
  | { kind: 'refused'; taskId: string; reason: string };

export async function preemptFor(redis: Redis, keys: QueueKeys, req: PreemptRequest): Promise<PreemptResult> {
  const graceEnd = req.now + req.graceMs;
  const [kind, a = '', b = ''] = stringsReply(
    await runScript(
      redis,
      'preempt',
      [
        keys.events,
        keys.preemptions,
        keys.reservation,
        keys.task(req.taskId),
        ...req.victims.map((v) => keys.task(v.taskId)),
      ],
      argvHead(req.now),
      [
        req.consumer,
        req.taskId,
        graceEnd + PREEMPTION_MARGIN_MS,
        graceEnd,
        keyTemplate(keys.trackerAlive),
        ...req.victims.map((v) => v.token),
      ],
    ),
  );
  if (kind === 'preempted') return { kind };
  if (kind === 'busy') return { kind, tracker: a };
  if (kind === 'not-waiting') return { kind, status: a };
  return { kind: 'refused', taskId: a, reason: b };
}
