/**
 * Retries an artifact store operation while it fails transiently (isTransientStoreError), with
 * capped exponential backoff and jitter, within a number of tries and/or a time limit. The tracker
 * wraps each output upload in it, so an S3 outage shorter than the limit costs only time.
 *
 * @example
 * const result = await withStoreRetry(() => store.put(key, createReadStream(file)), {
 *   limitMs: 120_000, logger, what: `upload of ${key}`,
 * });
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { backoffMs } from '../backoff.js';
import { isTransientStoreError } from './transient-store-error.js';

export interface StoreRetryOptions {
  /** Tries in all, the first included. Default 5 when `limitMs` is not given either. */
  attempts?: number;
  /** No try starts later than this long after the first one started. */
  limitMs?: number;
  /** Wait before the second try; each later wait doubles. Default 500. */
  baseMs?: number;
  /** Longest wait between two tries. Default 30 000. */
  maxMs?: number;
  /** Gets one warning for the first failure and one error when giving up. */
  logger?: Logger;
  /** What is tried, for the logs: `upload of tenant/task/0/out.bin`. */
  what?: string;
  /** Stops the retries: the last error is thrown (the signal's reason if no try ran). */
  signal?: AbortSignal;
  /** Decides which errors are retried. Default isTransientStoreError. */
  isTransient?: (error: unknown) => boolean;
}

export const STORE_RETRY_DEFAULTS = { attempts: 5, baseMs: 500, maxMs: 30_000 } as const;

/**
 * The wait before try `attempt + 1` (attempt >= 1): `min(maxMs, baseMs * 2^(attempt-1))`, of which
 * the upper half is random so that trackers hit by the same outage do not retry in step.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = backoffMs(attempt, baseMs, maxMs);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Calls `op` (again for each try: it must open its source anew) until it resolves, fails with an
 * error that is not transient (thrown at once), or the tries or the time run out (the last error
 * is thrown).
 */
export async function withStoreRetry<T>(
  op: (attempt: number) => Promise<T>,
  options: StoreRetryOptions = {},
): Promise<T> {
  const { limitMs, logger, signal, what = 'artifact store operation' } = options;
  const attempts = options.attempts ?? (limitMs === undefined ? STORE_RETRY_DEFAULTS.attempts : Infinity);
  const baseMs = options.baseMs ?? STORE_RETRY_DEFAULTS.baseMs;
  const maxMs = options.maxMs ?? STORE_RETRY_DEFAULTS.maxMs;
  const isTransient = options.isTransient ?? isTransientStoreError;
  const started = Date.now();
  signal?.throwIfAborted();
  for (let attempt = 1; ; attempt++) {
    let lastError: unknown;
    try {
      const result = await op(attempt);
      if (attempt > 1) logger?.info({ what, attempt }, `${what} succeeded at try ${attempt}`);
      return result;
    } catch (error) {
      lastError = error;
    }
    if (!isTransient(lastError)) throw lastError;
    const waitMs = retryDelayMs(attempt, baseMs, maxMs);
    const elapsedMs = Date.now() - started;
    if (attempt >= attempts || (limitMs !== undefined && elapsedMs + waitMs > limitMs)) {
      const message = `${what} failed ${attempt} time(s) in ${elapsedMs} ms; giving up`;
      logger?.error({ err: lastError, what, attempts: attempt, elapsedMs }, message);
      throw lastError;
    }
    if (attempt === 1) {
      logger?.warn({ err: lastError, what, retryInMs: waitMs }, `${what} failed; retrying with backoff`);
    } else {
      logger?.debug({ err: lastError, what, attempt, retryInMs: waitMs }, `${what} failed again`);
    }
    const stopped = await sleep(waitMs, false, { signal }).catch(() => true);
    if (stopped) throw lastError;
  }
}
