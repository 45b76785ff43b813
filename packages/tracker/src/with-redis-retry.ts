/**
 * Retries a Redis operation through connection failures with capped exponential backoff (never a
 * busy loop), logging the failure once when it starts and once when it ends. Errors that are not
 * about the connection (a script error, a wrong type) are thrown at once.
 */
import {
  abortableSleep,
  backoffMs,
  isRedisUnavailable,
  type Logger,
  type OutageReporter,
} from '@gpufleet/core';

export interface RetryOptions {
  logger: Logger;
  /** Where "Redis is unreachable" goes (one line a second for the whole process). */
  outage?: OutageReporter;
  what: string;
  signal?: AbortSignal;
  baseMs?: number;
  maxMs?: number;
}

export async function withRedisRetry<T>(op: () => Promise<T>, options: RetryOptions): Promise<T> {
  const base = options.baseMs ?? 100;
  const max = options.maxMs ?? 2000;
  let failures = 0;
  let firstFailureAt = 0;
  for (;;) {
    try {
      const result = await op();
      if (failures > 0)
        options.logger.info(
          { what: options.what, failures, downMs: Date.now() - firstFailureAt },
          'redis operation succeeded after retries',
        );
      return result;
    } catch (error) {
      if (!isRedisUnavailable(error) || options.signal?.aborted) throw error;
      if (failures === 0) firstFailureAt = Date.now();
      if (options.outage) options.outage.report(error, { what: options.what });
      else if (failures === 0)
        options.logger.warn({ err: error, what: options.what }, 'redis unavailable; retrying with backoff');
      failures++;
      await abortableSleep(backoffMs(failures, base, max), options.signal);
    }
  }
}
