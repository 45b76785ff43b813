/**
 * The figures and checks of bench/compare-preemption.ts, worked out from what a run saw (the
 * trackers' `spawned`, `exited`, `preempting` and `handed-back` log lines, the task records at the
 * end) without Redis or processes, so that bench/lib/preemption-run.ts only collects. Times are the
 * lines' pino `time` (epoch ms, the clock of the records' `createdAt`), as in priority-run.ts.
 */
import { timeOf } from './tracker-fleet.js';
import type { Line } from './worker-process.js';

/** One execution of a task: its `spawned` line and, once it ended, its `exited` line. */
export interface Execution {
  taskId: string;
  attempt: number;
  startMs: number;
  endMs: number | null;
}

/** The executions in the lines, paired by task and attempt (each task-execution logger carries both). */
export function executions(spawned: readonly Line[], exited: readonly Line[]): Execution[] {
  const key = (l: Line): string => `${String(l.taskId)}#${String(l.attempt)}`;
  const ends = new Map(exited.map((l) => [key(l), timeOf(l)]));
  return spawned.map((l) => ({
    taskId: String(l.taskId),
    attempt: Number(l.attempt),
    startMs: timeOf(l),
    endMs: ends.get(key(l)) ?? null,
  }));
}

/**
 * Without preemption, how long after `atMs` the first GPU frees: the earliest end (start +
 * `longMs`, the `sleep` they run) of the long tasks running at `atMs`, minus `atMs`. Computed, not
 * measured: the long tasks all started together, so each urgent task would wait out the rest of
 * theirs.
 */
export function firstLongEndAfter(
  runs: readonly Execution[],
  longIds: ReadonlySet<string>,
  longMs: number,
  atMs: number,
): number {
  const ends = runs
    .filter((r) => longIds.has(r.taskId) && r.startMs <= atMs && (r.endMs === null || r.endMs > atMs))
    .map((r) => r.startMs + longMs);
  return ends.length === 0 ? NaN : Math.min(...ends) - atMs;
}

export interface PreemptionSample {
  id: string;
  submitMs: number;
  /** Its start (`spawned`) − its submission; null when it did not start (not preemptible: cancelled). */
  waitMs: number | null;
  /** Without preemption: the first long task's end after its submission − the submission (computed). */
  withoutPreemptionMs: number;
  /** The tracker that preempted for it, and whom; null when none did. */
  tracker: string | null;
  victims: string[];
  /** Its `preempting` line − its submission: the decision. */
  decisionMs: number | null;
  /** The last victim's `exited` − the `preempting` line: how long the SIGTERM took. */
  stopMs: number | null;
  /** Its start − the last victim's exit. */
  restartMs: number | null;
  /** How long the victims had run when stopped (work lost: `sleep` keeps no checkpoint), ms. */
  lostWorkMs: number | null;
  /** The last victim's next start − its exit: how long it waited in line again; null: not yet. */
  victimBackMs: number | null;
}

/** What a run saw, for `sampleFigures` and `checkRun`. */
export interface RunLines {
  runs: Execution[];
  preempting: Line[];
  handedBack: Line[];
}

/** The execution of `taskId` that was running at `atMs` (the one a preemption then stopped). */
export function runningAt(runs: readonly Execution[], taskId: string, atMs: number): Execution | undefined {
  return runs.find((r) => r.taskId === taskId && r.startMs <= atMs && (r.endMs ?? Infinity) >= atMs);
}

/** The next execution of `run`'s task after it ended: the victim running again. */
export function nextRun(runs: readonly Execution[], run: Execution | undefined): Execution | undefined {
  const end = run?.endMs;
  if (!run || end === null || end === undefined) return undefined;
  return runs
    .filter((r) => r.taskId === run.taskId && r.startMs > end)
    .sort((a, b) => a.startMs - b.startMs)[0];
}

/** The urgent task's `preempting` line: its time, tracker and victims. */
function preemptionOf(
  seen: RunLines,
  id: string,
): { atMs: number; tracker: string | null; victims: string[] } | null {
  const line = seen.preempting.find((l) => l.taskId === id);
  if (!line) return null;
  return {
    atMs: timeOf(line),
    tracker: typeof line.tracker === 'string' ? line.tracker : null,
    victims: Array.isArray(line.victims) ? line.victims.map(String) : [],
  };
}

export function sampleFigures(
  seen: RunLines,
  sample: { id: string; submitMs: number },
  longIds: ReadonlySet<string>,
  longMs: number,
): PreemptionSample {
  const own = seen.runs.find((r) => r.taskId === sample.id);
  const p = preemptionOf(seen, sample.id);
  const stopped = p ? p.victims.map((v) => runningAt(seen.runs, v, p.atMs)) : [];
  // NaN (shown as null) when a victim's execution or its end is missing: checkRun says why.
  const most = (values: number[]): number | null => {
    const m = values.length ? Math.max(...values) : NaN;
    return Number.isNaN(m) ? null : m;
  };
  const lastExit = most(stopped.map((r) => r?.endMs ?? NaN));
  return {
    id: sample.id,
    submitMs: sample.submitMs,
    waitMs: own ? own.startMs - sample.submitMs : null,
    withoutPreemptionMs: firstLongEndAfter(seen.runs, longIds, longMs, sample.submitMs),
    tracker: p?.tracker ?? null,
    victims: p?.victims ?? [],
    decisionMs: p ? p.atMs - sample.submitMs : null,
    stopMs: p && lastExit !== null ? lastExit - p.atMs : null,
    restartMs: own && lastExit !== null ? own.startMs - lastExit : null,
    lostWorkMs: most(stopped.map((r) => (r?.endMs ?? NaN) - (r?.startMs ?? NaN))),
    victimBackMs: most(stopped.map((r) => (nextRun(seen.runs, r)?.startMs ?? NaN) - (r?.endMs ?? NaN))),
  };
}

/** A task record as the checks read it (core `getTask`, plus the raw `freeAttempts`). */
export interface EndRecord {
  status: string;
  attempt: number;
  freeAttempts: number;
  preemptions: number;
  preemptedBy: string | null;
}

export interface RunChecks {
  preemptions: number;
  expectedPreemptions: number;
  /** Tasks stopped (a task stopped twice counts twice). */
  victims: number;
  /** Victims whose tracker logged the hand-back (requeued) after stopping them. */
  victimsHandedBack: number;
  victimsRanAgain: number;
  /** Victims that had not run again when the fleet stopped, still queued at the end. */
  victimsStillQueued: number;
  /** Tasks started for the first time while a victim waited: a victim should go first in its priority. */
  startedAheadOfVictims: number;
  /** Every task submitted, by its status at the end (after the trackers stopped). */
  endStatuses: Record<string, number>;
  /** Attempts of the long tasks counted against maxAttempts (attempt − freeAttempts; expected 0). */
  countedAttempts: number;
  /** What went wrong; empty when the run behaved. */
  problems: string[];
}

export interface CheckInput {
  preemptible: boolean;
  seen: RunLines;
  samples: readonly PreemptionSample[];
  longIds: ReadonlySet<string>;
  records: ReadonlyMap<string, EndRecord | null>;
  /** The queue's stream counts at the end (core readQueueStats). */
  stats: { waiting: number; running: number };
}

export function checkRun(input: CheckInput): RunChecks {
  const { seen, samples, longIds, records } = input;
  const problems: string[] = [];
  const urgentIds = new Set(samples.map((s) => s.id));
  const expectedPreemptions = input.preemptible ? samples.length : 0;
  const preemptions = seen.preempting.length;
  if (preemptions !== expectedPreemptions)
    problems.push(`${preemptions} preemptions logged, ${expectedPreemptions} expected`);
  for (const l of seen.preempting)
    if (!urgentIds.has(String(l.taskId)))
      problems.push(`a preemption for ${String(l.taskId)}, not an urgent task`);

  let victims = 0;
  let handedBack = 0;
  let ranAgain = 0;
  let stillQueued = 0;
  let aheadOfVictims = 0;
  for (const s of samples) {
    if (input.preemptible && s.victims.length !== 1)
      problems.push(`urgent task ${s.id} stopped ${s.victims.length} tasks (1 expected: it needs 1 GPU)`);
    if (input.preemptible && s.waitMs === null) problems.push(`urgent task ${s.id} never started`);
    const p = preemptionOf(seen, s.id);
    for (const v of p?.victims ?? []) {
      victims++;
      if (!longIds.has(v)) problems.push(`victim ${v} is not one of the long tasks`);
      const stopped = p ? runningAt(seen.runs, v, p.atMs) : undefined;
      if (stopped?.endMs == null) {
        problems.push(`victim ${v} has no execution that ended after the preemption for ${s.id}`);
        continue;
      }
      const end = stopped.endMs;
      const back = seen.handedBack.some(
        (l) => l.taskId === v && Number(l.attempt) === stopped.attempt && l.handedBack === true,
      );
      if (back) handedBack++;
      else problems.push(`victim ${v} (attempt ${stopped.attempt}) was not handed back to the queue`);
      const next = nextRun(seen.runs, stopped);
      const record = records.get(v);
      if (next) ranAgain++;
      else if (record?.status === 'queued') stillQueued++;
      else problems.push(`victim ${v} neither ran again nor is queued (${record?.status ?? 'no record'})`);
      if (!record || record.preemptions < 1 || !urgentIds.has(record.preemptedBy ?? ''))
        problems.push(`victim ${v}'s record does not show the preemption`);
      // Fresh long tasks (first attempt) started while it waited in line again.
      const until = next?.startMs ?? Infinity;
      aheadOfVictims += seen.runs.filter(
        (r) => longIds.has(r.taskId) && r.attempt === 1 && r.startMs > end && r.startMs < until,
      ).length;
    }
  }
  if (aheadOfVictims > 0) problems.push(`${aheadOfVictims} fresh tasks started ahead of a waiting victim`);

  // Every task in a known state: the long ones queued (handed back at the stop) or done, the urgent
  // ones done (or, not preemptible, cancelled after the hold); nothing running or missing.
  const endStatuses: Record<string, number> = {};
  let countedAttempts = 0;
  let queued = 0;
  for (const [id, record] of records) {
    const status = record?.status ?? 'missing';
    endStatuses[status] = (endStatuses[status] ?? 0) + 1;
    if (status === 'queued') queued++;
    const allowed = longIds.has(id)
      ? ['queued', 'succeeded']
      : input.preemptible
        ? ['succeeded']
        : ['cancelled', 'succeeded'];
    if (!allowed.includes(status))
      problems.push(`task ${id} ended ${status} (expected ${allowed.join(' or ')})`);
    if (record && longIds.has(id)) countedAttempts += record.attempt - record.freeAttempts;
  }
  if (countedAttempts > 0)
    problems.push(`${countedAttempts} attempts of long tasks counted against maxAttempts`);
  if (input.stats.running !== 0)
    problems.push(`${input.stats.running} stream entries still pending at the end`);
  if (input.stats.waiting !== queued)
    problems.push(`${input.stats.waiting} stream entries waiting, ${queued} records queued`);
  return {
    preemptions,
    expectedPreemptions,
    victims,
    victimsHandedBack: handedBack,
    victimsRanAgain: ranAgain,
    victimsStillQueued: stillQueued,
    startedAheadOfVictims: aheadOfVictims,
    endStatuses,
    countedAttempts,
    problems,
  };
}
