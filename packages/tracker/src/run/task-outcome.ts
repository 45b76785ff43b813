/**
 * Turns how an executer process ended into the task's final status, the reason recorded and, when
 * it did not succeed, the reason's stable code (TASK_FAILURES, recorded as `errorCode`).
 */
import type { TaskStatus } from '@gpufleet/core';
import { TASK_FAILURES, type TaskFailure, type TaskFailureCode } from '../errors.js';
import type { ExecuterProcessResult } from '../process/executer-process.js';

export interface TaskOutcome {
  status: TaskStatus;
  error: string;
  /** Why it did not succeed; absent when it did. */
  errorCode?: TaskFailureCode;
}

/** The outcome of a failure with `code`: the status the code stands for. */
export function failedWith(code: TaskFailureCode, error: string): TaskOutcome {
  return { status: TASK_FAILURES[code].status, error, errorCode: code };
}

/** The outcome a TaskFailure ends its task with. */
export function outcomeOf(failure: TaskFailure): TaskOutcome {
  return { status: failure.status, error: failure.message, errorCode: failure.code };
}

export function taskOutcome(result: ExecuterProcessResult, timeLimitMs: number): TaskOutcome {
  if (result.spawnError)
    return failedWith('SPAWN_FAILED', `could not start the executer: ${result.spawnError}`);
  if (result.killedFor === 'cancelled') return failedWith('CANCELLED', 'cancelled by request');
  if (result.killedFor === 'timed_out') {
    return failedWith('TIME_LIMIT', `time limit of ${timeLimitMs} ms reached; the process group was killed`);
  }
  if (result.infraError) return failedWith(result.infraCode ?? 'SPAWNER_DIED', result.infraError);
  if (result.exitCode === 0) return { status: 'succeeded', error: '' };
  const how =
    result.exitCode !== null
      ? `exited with code ${result.exitCode}`
      : `was killed by signal ${result.signal ?? 'unknown'}`;
  const tail = result.stderrTail.trim();
  return failedWith(
    result.exitCode !== null ? 'EXIT_NONZERO' : 'KILLED_BY_SIGNAL',
    tail ? `the executer ${how}; last lines of stderr:\n${tail}` : `the executer ${how}`,
  );
}
