/**
 * What each failure code means for the person looking at it, and what usually helps, in a line
 * (the codes and their full meanings: docs/task-failures.md).
 */
import type { TaskFailureCode } from '@gpufleet/api-client';

export const FAILURE_HINTS: Record<TaskFailureCode, string> = {
  EXIT_NONZERO: 'the executer exited with an error: its log says why',
  KILLED_BY_SIGNAL: 'the executer was killed by a signal nobody sent: out of memory, or a crash',
  TIME_LIMIT: 'it ran past its time limit and was stopped: give it a longer one',
  CANCELLED: 'it was cancelled',
  SPAWN_FAILED: 'the executer’s program could not be started on its tracker',
  SPAWNER_DIED: 'the tracker’s spawner died while it ran, taking it along',
  NO_EXECUTER: 'the tracker that took it does not have its executer (any more)',
  PARAMS_INVALID: 'its parameters do not fit the executer as the tracker has it (the executer changed)',
  INPUTS_REFUSED: 'an input was refused: an archive that leaves its folder, too large, or not an archive',
  INPUTS_UNAVAILABLE: 'an input could not be fetched from the artifact store',
  OUTPUTS_NOT_STORED: 'its outputs could not be stored',
  ATTEMPTS_EXHAUSTED: 'started maxAttempts times without an end: its trackers died or lost it each time',
  UNSCHEDULABLE: 'no live tracker of its queue could ever run it (GPUs, model, memory, CPU slot)',
  ENV_SETUP_NOT_ALLOWED:
    'it has an env setup line and the tracker that took it does not run them: submit it to a queue whose trackers do',
  SLURM_JOB_FAILED: 'the SLURM job that ran it ended in a way that is not its own (lost by slurmctld)',
  SERVICE_NOT_READY:
    'its service did not pass its readiness check in time, nor after its restarts: its log says why',
  GPU_ERROR: 'a GPU failed under it',
};

export const failureHint = (code: TaskFailureCode | null): string | null =>
  code === null ? null : (FAILURE_HINTS[code] ?? null);
