/**
 * The loop every long-lived reader runs (the tracker's consumer loop and control reader, the
 * API's stream feed): one step after another until its owner stops it; after a failed step, say
 * so (the caller decides how often) and wait a capped backoff that the stop cuts short.
 */
import { backoffMs } from './backoff.js';

export interface LoopOptions {
  /** The first backoff after a failure, and its cap (`backoffMs`). */
  baseMs: number;
  maxMs: number;
  /** A step failed (not called once `signal` has aborted); `failures`: how many in a row. */
  onFailure: (error: unknown, failures: number) => void | Promise<void>;
}

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs `step` until `signal` aborts or a step returns 'stop'. */
export async function loopUntilAborted(
  signal: AbortSignal,
  step: () => Promise<void | 'stop'>,
  options: LoopOptions,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      if ((await step()) === 'stop') return;
      failures = 0;
    } catch (error) {
      if (signal.aborted) return;
      failures++;
      await options.onFailure(error, failures);
      await abortableSleep(backoffMs(failures + 1, options.baseMs, options.maxMs), signal);
    }
  }
}
