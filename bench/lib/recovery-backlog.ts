/**
 * A worker killed under a backlog, for bench/compare-recovery.ts (issue 16): two workers (separate
 * processes) of `slots` each work through a queue of short `sleep` tasks (0.2–1 s; the same lengths
 * for both systems in a round); when `killAtPercent` % of them have completed, the worker running
 * the most is SIGKILLed. Its orphans are the tasks it had started and not finished (less any whose
 * completion reached Redis before the kill); we time, from the kill, until every orphan has started
 * again on the survivor and until every orphan has completed, and the makespan (first enqueue →
 * last task ended). Times are the moments the lines of the workers' stdout arrived here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { enqueue, getTask, isFinal, isTaskStatus, queueKeys, RECONNECT_MAX_MS } from '@gpufleet/core';
import { preciseNow } from './bullmq-processor.js';
import { seededRandom } from './prng.js';
import { sleepWork } from './programs.js';
import { startBullWorker, startTracker, type Line, type WorkerProcess } from './worker-process.js';

export interface RecoveryConfig {
  name: string;
  system: 'gpufleet' | 'bullmq';
  /** GPUFLEET_* overrides; nothing = the tracker's defaults. */
  env?: Record<string, string>;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** How often the survivor looks for abandoned jobs (sweep / stalled check), ms. */
  periodMs: number;
}

/** One worker of `config`: a tracker with `slots` CPU slots, or a BullMQ worker of that concurrency. */
export function startWorker(
  config: RecoveryConfig,
  at: { redisUrl: string; id: string; n: number; dir: string; slots: number },
): Promise<WorkerProcess> {
  const name = `${at.id}-${at.n}`;
  return config.system === 'gpufleet'
    ? startTracker({
        redisUrl: at.redisUrl,
        prefix: at.id,
        name,
        dir: at.dir,
        cpuSlots: at.slots,
        env: config.env,
      })
    : startBullWorker({
        redisUrl: at.redisUrl,
        queue: at.id,
        name,
        concurrency: at.slots,
        events: true,
        lockDurationMs: config.lockDurationMs,
        stalledIntervalMs: config.stalledIntervalMs,
      });
}

/**
 * Waits until Redis has been up long enough for the trackers to trust an expired liveness key (a
 * younger Redis may have just restarted: packages/tracker/src/reclaim.ts). A fleet that has run a
 * while is past this; a benchmark's own fresh redis-server is not.
 */
export async function waitForRedisAge(redis: Redis, aliveMs: number): Promise<void> {
  const needMs = aliveMs + 2 * RECONNECT_MAX_MS + 1000;
  const uptime = Number(/uptime_in_seconds:(\d+)/.exec(await redis.info('server'))?.[1] ?? 0);
  await sleep(Math.max(0, needMs - uptime * 1000));
}

/** Task lengths in seconds, `min`–`max` in steps of 0.05 s, from a seeded generator (mulberry32). */
export function taskLengths(n: number, seed: number, min = 0.2, max = 1): number[] {
  const next = seededRandom(seed);
  return Array.from({ length: n }, () => Math.round((min + next() * (max - min)) * 20) / 20);
}

export interface BacklogOutcome {
  orphans: number;
  /** Tasks not started by either worker at the kill. */
  waitingAtKill: number;
  /** Kill → the first and the last orphan started again on the survivor, ms. */
  restartFirstMs: number;
  restartLastMs: number;
  /** Kill → the last orphan completed, ms. */
  doneMs: number;
  /** The largest (orphan completed − kill − the orphan's own length), ms. */
  doneLessLengthMs: number;
  /** Other tasks not yet started when the last orphan started again (0: it waited for the queue). */
  waitingAtLastRestart: number;
  makespanMs: number;
  /** Sum of the lengths / all slots: the makespan of a perfect fleet that loses nothing. */
  idealMs: number;
  /**
   * The makespan of a perfect survivor: the kill, then the work left at the kill (the orphans in
   * full, the survivor's running tasks what they had left) spread over its slots without a gap.
   */
  floorMs: number;
  /** Tasks that ended otherwise than completed (failed, dead...). */
  failed: number;
  /** Tasks whose end was found in Redis only (the killed worker died before printing it). */
  endedUnseen: number;
}

interface TaskLine {
  kind: 'start' | 'end';
  id: string;
  ok: boolean;
  at: number;
}

/**
 * A start or end of a task in a gpufleet tracker's or the BullMQ worker's stdout, or null. Both
 * mark them with `event`: the tracker's (tracker-events.ts) name the task `taskId` and carry the
 * final status on `completed`; the worker's name the job `jobId`, and `completed` is a success.
 */
function taskLine(line: Line): TaskLine | null {
  const at = line.at;
  const id = String(line.taskId ?? line.jobId);
  if (line.event === 'spawned') return { kind: 'start', id, ok: true, at };
  if (line.event !== 'completed' && line.event !== 'failed') return null;
  if (typeof line.status !== 'string') return { kind: 'end', id, ok: line.event === 'completed', at };
  return isTaskStatus(line.status) && isFinal(line.status)
    ? { kind: 'end', id, ok: line.status === 'succeeded', at }
    : null;
}

const taskLines = (w: WorkerProcess): TaskLine[] =>
  w.lines.map(taskLine).filter((l): l is TaskLine => l !== null);

async function until(
  what: string,
  timeoutMs: number,
  done: () => boolean | Promise<boolean>,
  explain: () => Promise<string> = () => Promise.resolve(''),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${await explain()}`);
    await sleep(10);
  }
}

/** Enqueues one sleep task per length; returns the ids in order. */
async function submit(
  redis: Redis,
  queue: Queue,
  system: RecoveryConfig['system'],
  id: string,
  lengths: number[],
): Promise<string[]> {
  if (system === 'bullmq') {
    const jobs = await queue.addBulk(
      lengths.map((s) => ({ name: 'sleep', data: { argv: sleepWork(s).argv } })),
    );
    return jobs.map((job) => String(job.id));
  }
  const ids: string[] = [];
  for (let i = 0; i < lengths.length; i += 100) {
    const batch = lengths.slice(i, i + 100).map((s) => {
      const work = sleepWork(s);
      return enqueue({ redis, prefix: id }, { executer: work.executer, params: work.params });
    });
    ids.push(...(await Promise.all(batch)).map((r) => r.id));
  }
  return ids;
}

/** Whether the task's end reached Redis (then it is no orphan, even if its line never came). */
async function endedInRedis(
  redis: Redis,
  queue: Queue,
  config: RecoveryConfig,
  id: string,
  taskId: string,
): Promise<boolean> {
  if (config.system === 'bullmq') return ['completed', 'failed'].includes(await queue.getJobState(taskId));
  const task = await getTask(redis, queueKeys(id, 'default'), taskId);
  return task !== null && isFinal(task.status);
}

export interface BacklogRound {
  redis: Redis;
  redisUrl: string;
  queue: Queue;
  id: string;
  dir: string;
  slots: number;
  lengths: number[];
  killAtPercent: number;
  timeoutMs: number;
}

export async function runBacklogRound(config: RecoveryConfig, round: BacklogRound): Promise<BacklogOutcome> {
  const { redis, queue, id, lengths } = round;
  const workers: WorkerProcess[] = [];
  try {
    const at = { redisUrl: round.redisUrl, id, dir: round.dir, slots: round.slots };
    workers.push(
      ...(await Promise.all([startWorker(config, { ...at, n: 1 }), startWorker(config, { ...at, n: 2 })])),
    );
    // The survivor's checks run every periodMs from its start: a random wait makes their phase at
    // the kill random, as in a fleet that has been running for a while.
    await sleep(Math.random() * config.periodMs);
    const startedAt = preciseNow();
    const ids = await submit(redis, queue, config.system, id, lengths);
    const lengthOf = new Map(ids.map((taskId, i) => [taskId, lengths[i] ?? 0]));
    const all = (): TaskLine[] => workers.flatMap(taskLines);
    const ended = (): Set<string> => new Set(all().flatMap((l) => (l.kind === 'end' ? [l.id] : [])));
    await until(`${round.killAtPercent} % of the tasks`, round.timeoutMs, () => {
      return ended().size >= Math.ceil((ids.length * round.killAtPercent) / 100);
    });

    const running = (w: WorkerProcess): Set<string> => {
      const lines = taskLines(w);
      const done = new Set(lines.flatMap((l) => (l.kind === 'end' ? [l.id] : [])));
      return new Set(lines.flatMap((l) => (l.kind === 'start' && !done.has(l.id) ? [l.id] : [])));
    };
    const [one, two] = workers as [WorkerProcess, WorkerProcess];
    const victim = running(two).size > running(one).size ? two : one;
    const survivor = victim === one ? two : one;
    const killedAt = preciseNow();
    victim.kill('SIGKILL');
    const atKill = all();
    const startedBeforeKill = new Set(atKill.flatMap((l) => (l.kind === 'start' ? [l.id] : [])));
    const endedBeforeKill = new Set(atKill.flatMap((l) => (l.kind === 'end' ? [l.id] : [])));
    const startOnSurvivor = new Map(
      taskLines(survivor).flatMap((l) => (l.kind === 'start' ? [[l.id, l.at] as const] : [])),
    );
    await victim.exited;
    const orphans: string[] = [];
    // Its end reached Redis, but the worker was killed before it printed the line: no orphan.
    const endedUnseen = new Set<string>();
    for (const taskId of running(victim))
      if (await endedInRedis(redis, queue, config, id, taskId)) endedUnseen.add(taskId);
      else orphans.push(taskId);
    let workLeftMs = 0;
    for (const taskId of ids) {
      if (endedBeforeKill.has(taskId) || endedUnseen.has(taskId)) continue;
      const lengthMs = (lengthOf.get(taskId) ?? 0) * 1000;
      const startAt = startOnSurvivor.get(taskId);
      workLeftMs += startAt === undefined ? lengthMs : Math.max(0, lengthMs - (killedAt - startAt));
    }

    const open = (): string[] => {
      const seen = ended();
      return ids.filter((t) => !seen.has(t) && !endedUnseen.has(t));
    };
    await until(
      'every task to end',
      round.timeoutMs,
      () => open().length === 0,
      async () => {
        const left = open();
        const where = async (t: string): Promise<string> => {
          const on = workers.filter((w) => taskLines(w).some((l) => l.id === t)).map((w) => w.name);
          const state =
            config.system === 'bullmq'
              ? await queue.getJobState(t)
              : JSON.stringify(await redis.hgetall(queueKeys(id, 'default').task(t)));
          return `${t} (seen on ${on.join(', ') || 'no worker'}, victim ${victim.name}): ${state}`;
        };
        const shown = await Promise.all(left.slice(0, 10).map(where));
        return `; ${left.length} not ended:\n${shown.join('\n')}`;
      },
    );
    const lines = all();
    const onSurvivor = taskLines(survivor).filter((l) => l.at > killedAt);
    const restartAt = (taskId: string): number =>
      onSurvivor.find((l) => l.kind === 'start' && l.id === taskId)?.at ?? NaN;
    const doneAt = (taskId: string): number =>
      onSurvivor.find((l) => l.kind === 'end' && l.id === taskId)?.at ?? NaN;
    const restarts = orphans.map(restartAt);
    const lastRestart = Math.max(...restarts);
    const firstStart = new Map<string, number>();
    for (const l of lines) if (l.kind === 'start' && !firstStart.has(l.id)) firstStart.set(l.id, l.at);
    const orphanSet = new Set(orphans);
    return {
      orphans: orphans.length,
      waitingAtKill: ids.filter((t) => !startedBeforeKill.has(t)).length,
      restartFirstMs: Math.min(...restarts) - killedAt,
      restartLastMs: lastRestart - killedAt,
      doneMs: Math.max(...orphans.map(doneAt)) - killedAt,
      doneLessLengthMs: Math.max(...orphans.map((t) => doneAt(t) - killedAt - (lengthOf.get(t) ?? 0) * 1000)),
      waitingAtLastRestart: ids.filter((t) => !orphanSet.has(t) && (firstStart.get(t) ?? 0) > lastRestart)
        .length,
      makespanMs: Math.max(...lines.map((l) => l.at)) - startedAt,
      idealMs: (lengths.reduce((a, b) => a + b, 0) * 1000) / (2 * round.slots),
      floorMs: killedAt - startedAt + workLeftMs / round.slots,
      failed: lines.filter((l) => l.kind === 'end' && !l.ok).length,
      endedUnseen: endedUnseen.size,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}
