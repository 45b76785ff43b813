/**
 * How an attempt ends, decided without Redis or processes: once its process has ended, whether the
 * attempt writes nothing (it lost its task), hands the task back (the tracker is shutting down,
 * the task was preempted, or a GPU of it failed: GPU_ERROR) or stores its outputs; once they are
 * stored (or failed to be), whether the task is queued for a retry or completes, with which status,
 * reason and failure code. task-execution.ts carries the decisions out.
 */
import type { RetryBackoff } from '@gpufleet/core';
import type { ExecuterProcessResult } from '../process/executer-process.js';
import { retryDelayMs } from './retry-delay.js';
import { failedWith, taskOutcome, type TaskOutcome } from './task-outcome.js';

export type AfterExit =
  /** Another attempt holds the task now: write nothing. */
  | { kind: 'lost' }
  /**
   * The tracker is shutting down, the task was preempted, or a GPU of it failed (`errorCode`
   * GPU_ERROR, recorded with the reason): give it back, first in line within its priority, the
   * attempt not counted.
   */
  | { kind: 'hand-back'; reason: string; errorCode?: 'GPU_ERROR' }
  /** Store the outputs, then decide with `afterStore`. */
  | { kind: 'store'; outcome: TaskOutcome };

export function afterExit(input: {
  /** The lease keeper found the attempt lost. */
  leaseLost: boolean;
  result: ExecuterProcessResult;
  timeLimitMs: number;
  /** This tracker's consumer name (for the hand-back's reason). */
  consumer: string;
  /** The task of higher priority this one was preempted for, if it was. */
  preemptedBy?: string | null;
  /** What failed on one of its GPUs while it ran (gpu/gpu-health.ts), if anything did. */
  gpuError?: string | null;
}): AfterExit {
  const { result } = input;
  if (input.leaseLost || result.killedFor === 'lease_lost') return { kind: 'lost' };
  if (result.handBack !== undefined && result.killedFor === null)
    return { kind: 'hand-back', reason: result.handBack };
  // Whatever its exit code: a task that checkpointed and exited on the signal has not finished.
  if (result.killedFor === 'preempted') {
    return {
      kind: 'hand-back',
      reason: `preempted by task ${input.preemptedBy ?? '(unknown)'} of higher priority on tracker "${input.consumer}"; requeued, the attempt not counted`,
    };
  }
  const gpuError = input.gpuError ?? null;
  // Stopped for it, or ended by itself (its CUDA calls failed) once the fault was seen.
  if (
    gpuError !== null &&
    (result.killedFor === 'gpu_error' || mayBeGpuFault(result) || result.killedFor === 'shutdown')
  ) {
    return {
      kind: 'hand-back',
      reason: `${gpuError} on tracker "${input.consumer}"; requeued, the attempt not counted`,
      errorCode: 'GPU_ERROR',
    };
  }
  if (result.killedFor === 'shutdown') {
    return {
      kind: 'hand-back',
      reason: `handed back: tracker "${input.consumer}" shut down before the task finished`,
    };
  }
  return { kind: 'store', outcome: taskOutcome(result, input.timeLimitMs) };
}

/**
 * Whether a process that ended may have ended because its GPU failed: it ended by itself and did
 * not succeed (a CUDA error ends the program before the health check sees the fault), so the health
 * check looks again before the attempt settles.
 */
export function mayBeGpuFault(result: ExecuterProcessResult): boolean {
  const { killedFor, spawnError, infraError, exitCode } = result;
  return killedFor === null && spawnError === null && infraError === null && exitCode !== 0;
}

export type Settlement =
  /** Failed with retries left: queue it again after `delayMs`, one more failure counted. */
  | { kind: 'retry'; delayMs: number; reason: string }
  /** Write the final status, its reason and its failure code (none when it succeeded). */
  | ({ kind: 'complete' } & TaskOutcome);

export function afterStore(input: {
  outcome: TaskOutcome;
  attempt: number;
  /** Failed runs retried so far, and how many retries the task may have. */
  failures: number;
  retries: number;
  retryBackoff: RetryBackoff | null;
  /** Why storing the outputs failed (the store's error, and what became of partial outputs). */
  storeError: string | null;
}): Settlement {
  if (input.storeError !== null)
    return { kind: 'complete', ...failedWith('OUTPUTS_NOT_STORED', input.storeError) };
  const { outcome } = input;
  if (outcome.status === 'failed' && input.failures < input.retries) {
    const delayMs = retryDelayMs(input.retryBackoff, input.failures);
    const reason = `attempt ${input.attempt} failed (${outcome.error.split('\n')[0]}); retry ${input.failures + 1} of ${input.retries} in ${delayMs} ms`;
    return { kind: 'retry', delayMs, reason };
  }
  return { kind: 'complete', ...outcome };
}
