/**
 * One attempt as a SLURM job, for a tracker that fronts a partition (GPUFLEET_BACKEND=slurm): the
 * same answer as a local process (process/executer-process.ts's ExecuterProcess), so the attempt's
 * lease, fencing, live log, outputs and completion are those of every tracker. Submitted with
 * sbatch (job-script.ts; a refusal ends the attempt SPAWN_FAILED with SLURM's message), followed
 * with `scontrol show job` every `pollMs` (slurmctld unreachable: logged once, polled on with
 * backoff, the job keeps running; a job it does not know for 15 s in a row is looked up in SLURM's
 * accounting (sacct, job-accounting.ts) and, unknown there too, is lost: its task handed back), cancelled
 * with `scancel` (SLURM sends SIGTERM, then SIGKILL after its KillWait). How a job ended maps onto
 * the attempt's end:
 *
 * | JobState                    | the attempt                                                   |
 * | --------------------------- | ------------------------------------------------------------- |
 * | COMPLETED, FAILED           | its exit code (and signal) from ExitCode=code:signal           |
 * | CANCELLED                   | the tracker's kill reason; cancelled when someone else did it  |
 * | TIMEOUT, DEADLINE           | timed out                                                     |
 * | NODE_FAIL, PREEMPTED, BOOT_FAIL | handed back, the attempt not counted                      |
 * | OUT_OF_MEMORY               | killed by SIGKILL (out of memory)                              |
 */
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import type { Logger } from '@gpufleet/core';
import type { ExecuterProcess, ExecuterProcessResult, KillReason } from '../process/executer-process.js';
import { followLogs, type OutputStream } from '../process/log-follow.js';
import { preciseNow } from '../process/clock.js';
import { accountedState } from './job-accounting.js';
import { jobScript, type JobScriptInput } from './job-script.js';
import { sbatch, SbatchRefusedError } from './sbatch.js';

export interface SlurmJobRequest extends JobScriptInput {
  killGraceMs: number;
  pollMs: number;
  logger: Logger;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
}

/** A job's state as `scontrol show job -o` gives it; null when SLURM does not know it (any more). */
export interface JobState {
  state: string;
  exitCode: number;
  signal: number;
}

const FINAL_STATES = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'DEADLINE',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'OUT_OF_MEMORY',
]);
const HAND_BACK = new Set(['NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL']);
const MAX_POLL_BACKOFF_MS = 5_000;
/** How long SLURM must not know a job before it counts as lost. */
const UNKNOWN_FOR_MS = 15_000;

/** The state of job `id`, or null when SLURM no longer knows it; rejects when slurmctld cannot be asked. */
export async function jobState(id: string): Promise<JobState | null> {
  const result = await execa('scontrol', ['show', 'job', '-o', id], { reject: false });
  if (result.exitCode !== 0) {
    if (/Invalid job id/i.test(String(result.stderr))) return null;
    throw new Error(String(result.stderr || result.shortMessage).trim());
  }
  const text = String(result.stdout);
  const state = /JobState=(\S+)/.exec(text)?.[1] ?? 'UNKNOWN';
  const [code = '0', signal = '0'] = (/ExitCode=(\d+):(\d+)/.exec(text) ?? []).slice(1);
  return { state, exitCode: Number(code), signal: Number(signal) };
}

/** Cancels job `id` (SIGTERM, SIGKILL after SLURM's KillWait); a job already gone is fine. */
export async function cancelJob(id: string): Promise<void> {
  await execa('scancel', [id], { reject: false });
}

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  15: 'SIGTERM',
};

export async function startSlurmJob(
  req: SlurmJobRequest,
): Promise<ExecuterProcess & { jobId: string | null }> {
  const startedAt = Date.now();
  const logs = followLogs(req, req.onOutput);
  let jobId: string;
  try {
    jobId = (await sbatch(jobScript(req))).jobId;
  } catch (error) {
    if (!(error instanceof SbatchRefusedError)) throw error;
    const finished = await logs.finish();
    const result: ExecuterProcessResult = {
      exitCode: null,
      signal: null,
      killedFor: null,
      spawnError: error.message,
      infraError: null,
      stderrTail: '',
      durationMs: Date.now() - startedAt,
      logs: finished,
    };
    const ended = Promise.resolve({ exitCode: null, at: preciseNow() });
    return {
      pid: null,
      pidStartTime: null,
      spawnedAt: null,
      ended,
      done: Promise.resolve(result),
      kill: () => undefined,
      jobId: null,
    };
  }
  const logger = req.logger.child({ slurmJob: jobId });
  let killedFor: KillReason | null = null;
  let over = false;
  const kill = (reason: KillReason): void => {
    if (over || killedFor !== null) return;
    killedFor = reason;
    void cancelJob(jobId);
  };
  const limitTimer = setTimeout(() => kill('timed_out'), req.timeLimitMs);
  limitTimer.unref();
  const final = (async (): Promise<JobState | null> => {
    let failures = 0;
    let unknownSince: number | null = null;
    for (;;) {
      try {
        const state = await jobState(jobId);
        if (failures > 0) logger.info({ failures }, 'slurmctld answers again');
        failures = 0;
        if (state !== null && FINAL_STATES.has(state.state)) return state;
        // A slurmctld just restarted may not know its jobs yet: unknown for a while before it counts.
        if (state === null) unknownSince ??= Date.now();
        else unknownSince = null;
        if (unknownSince !== null && Date.now() - unknownSince >= UNKNOWN_FOR_MS) {
          // Accounting may know how it ended (job-accounting.ts); else it is lost.
          const accounted = await accountedState(jobId);
          return accounted !== null && FINAL_STATES.has(accounted.state) ? accounted : null;
        }
      } catch (error) {
        if (failures++ === 0)
          logger.warn({ err: error }, 'cannot ask slurmctld about the job; the job runs on, asking again');
      }
      await delay(failures === 0 ? req.pollMs : Math.min(MAX_POLL_BACKOFF_MS, req.pollMs * 2 ** failures));
    }
  })();
  const ended = final.then((state) => {
    over = true;
    clearTimeout(limitTimer);
    return { exitCode: state?.exitCode ?? null, at: preciseNow() };
  });
  const done = final.then(async (state): Promise<ExecuterProcessResult> => {
    const finished = await logs.finish();
    return {
      ...outcomeOf(jobId, state, killedFor),
      stderrTail: logs.stderrTail(),
      durationMs: Date.now() - startedAt,
      logs: finished,
    };
  });
  return { pid: null, pidStartTime: null, spawnedAt: preciseNow(), ended, done, kill, jobId };
}

type Outcome = Pick<
  ExecuterProcessResult,
  'exitCode' | 'signal' | 'killedFor' | 'spawnError' | 'infraError' | 'infraCode' | 'handBack'
>;

/** How the job's end reads as an attempt's (the table in the header). */
export function outcomeOf(jobId: string, job: JobState | null, killedFor: KillReason | null): Outcome {
  const base: Outcome = { exitCode: null, signal: null, killedFor, spawnError: null, infraError: null };
  // slurmctld lost it (a crash before it saved the job): the attempt never ended visibly, go again.
  if (job === null && killedFor === null)
    return {
      ...base,
      handBack: `SLURM job ${jobId} is no longer known to slurmctld; requeued, the attempt not counted`,
    };
  if (job === null || killedFor !== null) return base;
  switch (job.state) {
    case 'COMPLETED':
    case 'FAILED':
      return {
        ...base,
        exitCode: job.signal === 0 ? job.exitCode : null,
        signal: job.signal === 0 ? null : (SIGNALS[job.signal] ?? `signal ${job.signal}`),
      };
    case 'CANCELLED':
      return { ...base, killedFor: 'cancelled' };
    case 'TIMEOUT':
    case 'DEADLINE':
      return { ...base, killedFor: 'timed_out' };
    case 'OUT_OF_MEMORY':
      return { ...base, signal: 'SIGKILL' };
    default:
      if (HAND_BACK.has(job.state))
        return {
          ...base,
          handBack: `SLURM job ${jobId} ended ${job.state}; requeued, the attempt not counted`,
        };
      return { ...base, infraError: `SLURM job ${jobId} ended ${job.state}`, infraCode: 'SLURM_JOB_FAILED' };
  }
}
