// How an attempt ends, as pure decisions: lost, handed back or stored once its process has ended;
// retried or completed (with which status, reason and failure code) once its outputs are stored.
import { describe, expect, it } from 'vitest';
import { TASK_FAILURES, type TaskFailureCode } from '../src/errors.js';
import { afterExit, afterStore } from '../src/run/attempt-settle.js';
import type { ExecuterProcessResult } from '../src/process/executer-process.js';

function ended(over: Partial<ExecuterProcessResult> = {}): ExecuterProcessResult {
  const log = { bytes: 0, sha256: '' };
  return {
    exitCode: 0,
    signal: null,
    killedFor: null,
    spawnError: null,
    infraError: null,
    stderrTail: '',
    durationMs: 10,
    logs: { stdout: log, stderr: log },
    ...over,
  } as ExecuterProcessResult;
}

const exit = (result: ExecuterProcessResult, leaseLost = false) =>
  afterExit({ leaseLost, result, timeLimitMs: 5000, consumer: 'gpu-7' });

describe('afterExit', () => {
  it('writes nothing for an attempt that lost its task, however its process ended', () => {
    expect(exit(ended(), true)).toEqual({ kind: 'lost' });
    expect(exit(ended({ killedFor: 'lease_lost', exitCode: null, signal: 'SIGTERM' }))).toEqual({
      kind: 'lost',
    });
  });

  it('hands the task back when the tracker shut down, naming the tracker', () => {
    expect(exit(ended({ killedFor: 'shutdown', exitCode: null, signal: 'SIGTERM' }))).toEqual({
      kind: 'hand-back',
      reason: 'handed back: tracker "gpu-7" shut down before the task finished',
    });
  });

  it('hands the task back with GPU_ERROR when a GPU of it failed: stopped for it, or failed by itself', () => {
    const fault = 'GPU 0 (00000000:3B:00.0) failed under the task: Xid 79 (the GPU has fallen off the bus)';
    const gpu = (result: ExecuterProcessResult) =>
      afterExit({ leaseLost: false, result, timeLimitMs: 5000, consumer: 'gpu-7', gpuError: fault });
    const handedBack = {
      kind: 'hand-back',
      reason: `${fault} on tracker "gpu-7"; requeued, the attempt not counted`,
      errorCode: 'GPU_ERROR',
    };
    expect(gpu(ended({ killedFor: 'gpu_error', exitCode: null, signal: 'SIGTERM' }))).toEqual(handedBack);
    expect(gpu(ended({ exitCode: 1 }))).toEqual(handedBack);
    expect(gpu(ended({ killedFor: 'shutdown', exitCode: null, signal: 'SIGTERM' }))).toEqual(handedBack);
    // What ended otherwise stands: it succeeded, timed out, was cancelled or lost the task.
    expect(gpu(ended())).toMatchObject({ kind: 'store', outcome: { status: 'succeeded' } });
    expect(gpu(ended({ killedFor: 'timed_out', exitCode: null }))).toMatchObject({ kind: 'store' });
    expect(gpu(ended({ killedFor: 'cancelled', exitCode: null }))).toMatchObject({ kind: 'store' });
    expect(gpu(ended({ killedFor: 'lease_lost', exitCode: null }))).toEqual({ kind: 'lost' });
    // Without a fault seen, a failed process is the task's own failure.
    expect(exit(ended({ exitCode: 1 }))).toMatchObject({ kind: 'store', outcome: { status: 'failed' } });
  });

  it('stores the outputs of every other ending, with its outcome', () => {
    expect(exit(ended())).toEqual({ kind: 'store', outcome: { status: 'succeeded', error: '' } });
    expect(exit(ended({ killedFor: 'cancelled', exitCode: null }))).toMatchObject({
      kind: 'store',
      outcome: { status: 'cancelled' },
    });
    expect(exit(ended({ killedFor: 'timed_out', exitCode: null }))).toMatchObject({
      kind: 'store',
      outcome: { status: 'timed_out', error: 'time limit of 5000 ms reached; the process group was killed' },
    });
    expect(exit(ended({ exitCode: 3, stderrTail: 'boom\n' }))).toMatchObject({
      kind: 'store',
      outcome: { status: 'failed', error: 'the executer exited with code 3; last lines of stderr:\nboom' },
    });
  });
});

describe('afterStore', () => {
  const failed = {
    status: 'failed' as const,
    error: 'the executer exited with code 1; last lines of stderr:\nx',
  };
  const base = { attempt: 2, failures: 0, retries: 2, retryBackoff: null, storeError: null };

  it('retries a failed run while retries are left, with its backoff and a reason', () => {
    expect(afterStore({ ...base, outcome: failed })).toEqual({
      kind: 'retry',
      delayMs: 1000,
      reason:
        'attempt 2 failed (the executer exited with code 1; last lines of stderr:); retry 1 of 2 in 1000 ms',
    });
    expect(
      afterStore({
        ...base,
        outcome: failed,
        failures: 1,
        retryBackoff: { strategy: 'exponential', delayMs: 300 },
      }),
    ).toMatchObject({ kind: 'retry', delayMs: 600 });
  });

  it('completes failed once the retries are used up, and completes every other outcome as it is', () => {
    expect(afterStore({ ...base, outcome: failed, failures: 2 })).toEqual({
      kind: 'complete',
      status: 'failed',
      error: failed.error,
    });
    for (const status of ['succeeded', 'cancelled', 'timed_out'] as const) {
      expect(afterStore({ ...base, outcome: { status, error: 'e' } })).toEqual({
        kind: 'complete',
        status,
        error: 'e',
      });
    }
  });

  it('fails the task when its outputs could not be stored, whatever the run gave, without a retry', () => {
    const storeError = 'uploading outputs failed (its partial outputs were removed): disk full';
    expect(afterStore({ ...base, outcome: { status: 'succeeded', error: '' }, storeError })).toEqual({
      kind: 'complete',
      status: 'failed',
      error: storeError,
      errorCode: 'OUTPUTS_NOT_STORED',
    });
    expect(afterStore({ ...base, outcome: failed, storeError })).toMatchObject({
      kind: 'complete',
      status: 'failed',
    });
    expect(afterStore({ ...base, outcome: failed, storeError })).toMatchObject({
      errorCode: 'OUTPUTS_NOT_STORED',
    });
  });

  it('completes with the outcome’s failure code, and retries without one', () => {
    const coded = { ...failed, errorCode: 'EXIT_NONZERO' as const };
    expect(afterStore({ ...base, outcome: coded, failures: 2 })).toEqual({
      kind: 'complete',
      ...coded,
    });
    expect(afterStore({ ...base, outcome: coded })).not.toHaveProperty('errorCode');
  });
});

describe('failure codes', () => {
  it('give each ending of the process its code, and the status that code stands for', () => {
    const cases: Array<[Partial<ExecuterProcessResult>, string, string]> = [
      [{ exitCode: 3, stderrTail: 'boom\n' }, 'failed', 'EXIT_NONZERO'],
      [{ exitCode: null, signal: 'SIGKILL' }, 'failed', 'KILLED_BY_SIGNAL'],
      [{ exitCode: null, signal: 'SIGTERM', killedFor: 'timed_out' }, 'timed_out', 'TIME_LIMIT'],
      [{ exitCode: null, signal: 'SIGTERM', killedFor: 'cancelled' }, 'cancelled', 'CANCELLED'],
      [{ exitCode: null, spawnError: 'ENOENT' }, 'failed', 'SPAWN_FAILED'],
      [{ exitCode: null, signal: 'SIGKILL', infraError: 'the spawner died' }, 'failed', 'SPAWNER_DIED'],
    ];
    for (const [over, status, errorCode] of cases) {
      expect(exit(ended(over)), errorCode).toMatchObject({ kind: 'store', outcome: { status, errorCode } });
      expect(TASK_FAILURES[errorCode as TaskFailureCode].status).toBe(status);
    }
    expect(exit(ended())).toMatchObject({ kind: 'store', outcome: { status: 'succeeded' } });
    expect(exit(ended())).not.toHaveProperty('outcome.errorCode');
  });
});
