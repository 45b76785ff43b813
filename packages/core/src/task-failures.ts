/**
 * Why a task ended without succeeding: one stable code per reason, with the final status it ends
 * with and what it means. The code is recorded in the task hash as `errorCode`, beside the
 * English `error`, by whoever ends the task (the tracker, or a Lua script); the API shows it.
 * `docs/task-failures.md` lists every code (a test fails when one is missing there).
 *
 * @example
 * const { status } = TASK_FAILURES.TIME_LIMIT; // 'timed_out'
 */
import type { TaskStatus } from './task-status.js';

export const TASK_FAILURES = {
  EXIT_NONZERO: { status: 'failed', meaning: 'the executer exited with a code other than 0' },
  KILLED_BY_SIGNAL: {
    status: 'failed',
    meaning: 'the executer was killed by a signal the tracker did not send (out of memory, a crash)',
  },
  TIME_LIMIT: {
    status: 'timed_out',
    meaning: 'the executer ran past the task’s time limit; its process group was killed',
  },
  CANCELLED: { status: 'cancelled', meaning: 'the task was cancelled (through the API or cancelTask)' },
  SPAWN_FAILED: {
    status: 'failed',
    meaning: 'the executer’s program could not be started (not found, not executable, argv too long)',
  },
  SPAWNER_DIED: {
    status: 'failed',
    meaning: 'the tracker’s spawner (gpufleet-task-init) died while the executer ran, so it was killed',
  },
  NO_EXECUTER: {
    status: 'dead',
    meaning: 'the tracker that took the task does not have its executer (any more)',
  },
  PARAMS_INVALID: {
    status: 'failed',
    meaning: 'the parameters do not fit the executer’s schema as the tracker has it',
  },
  INPUTS_REFUSED: {
    status: 'failed',
    meaning: 'an input was refused: an archive entry escaping its folder, too large, or not an archive',
  },
  INPUTS_UNAVAILABLE: {
    status: 'failed',
    meaning: 'an input could not be fetched: missing from the artifact store, or the store failed',
  },
  OUTPUTS_NOT_STORED: {
    status: 'failed',
    meaning: 'the outputs could not be stored in the artifact store (whatever the executer did)',
  },
  ATTEMPTS_EXHAUSTED: {
    status: 'dead',
    meaning: 'the task was started maxAttempts times without an end (trackers died, leases lapsed)',
  },
  UNSCHEDULABLE: {
    status: 'dead',
    meaning: 'no live tracker of the queue could run the task (too many GPUs, no CPU slot) in time',
  },
  ENV_SETUP_NOT_ALLOWED: {
    status: 'failed',
    meaning:
      'the task has an env setup line (a profile’s `env`) and the tracker that took it does not run them (GPUFLEET_ALLOW_ENV_SETUP)',
  },
  SLURM_JOB_FAILED: {
    status: 'failed',
    meaning:
      'the SLURM job that ran the attempt ended in a way that is not the executer’s (slurmctld lost it, an unknown job state)',
  },
  SERVICE_NOT_READY: {
    status: 'failed',
    meaning:
      'a service did not pass its readiness check within its start timeout, with every restart its manifest allows',
  },
  GPU_ERROR: {
    status: 'failed',
    meaning:
      'a GPU of the task failed under it (an Xid error, uncorrectable ECC errors, off the bus); it was queued again, the attempt not counted',
  },
} as const satisfies Record<string, { status: TaskStatus; meaning: string }>;

export type TaskFailureCode = keyof typeof TASK_FAILURES;

/** The codes, in the registry's order. */
export const TASK_FAILURE_CODES = Object.keys(TASK_FAILURES) as TaskFailureCode[];

export function isTaskFailureCode(value: string): value is TaskFailureCode {
  return Object.hasOwn(TASK_FAILURES, value);
}

/** `TASK_FAILURES`' codes as a Lua table of code → code, for lib-claim.lua (`FAILURE.CANCELLED`). */
export function taskFailuresLua(): string {
  return `local FAILURE = { ${TASK_FAILURE_CODES.map((code) => `${code} = '${code}'`).join(', ')} }`;
}
