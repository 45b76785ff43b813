/**
 * Turns how an executer process ended into the task's final status and the reason recorded.
 */
import type { TaskStatus } from '@gpufleet/core';
import type { ExecuterProcessResult } from '../process/executer-process.js';

export interface TaskOutcome {
  status: TaskStatus;
  error: string;
}

export function taskOutcome(result: ExecuterProcessResult, timeLimitMs: number): TaskOutcome {
  if (result.spawnError)
    return { status: 'failed', error: `could not start the executer: ${result.spawnError}` };
  if (result.killedFor === 'cancelled') return { status: 'cancelled', error: 'cancelled by request' };
  if (result.killedFor === 'timed_out') {
    return {
      status: 'timed_out',
      error: `time limit of ${timeLimitMs} ms reached; the process group was killed`,
    };
  }
  if (result.infraError) return { status: 'failed', error: result.infraError };
  if (result.exitCode === 0) return { status: 'succeeded', error: '' };
  const how =
    result.exitCode !== null
      ? `exited with code ${result.exitCode}`
      : `was killed by signal ${result.signal ?? 'unknown'}`;
  const tail = result.stderrTail.trim();
  return {
    status: 'failed',
    error: tail ? `the executer ${how}; last lines of stderr:\n${tail}` : `the executer ${how}`,
  };
}
