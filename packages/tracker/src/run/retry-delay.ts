/** The wait before a failed task runs again: its backoff (fixed, or doubling per failure). */
import type { RetryBackoff } from '@gpufleet/core';

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { strategy: 'exponential', delayMs: 1000 };
export const MAX_RETRY_DELAY_MS = 3_600_000;

/** `failures` is the number of failed runs before this one (0 for the first retry). */
export function retryDelayMs(backoff: RetryBackoff | null, failures: number): number {
  const { strategy, delayMs } = backoff ?? DEFAULT_RETRY_BACKOFF;
  const delay = strategy === 'fixed' ? delayMs : delayMs * 2 ** failures;
  return Math.min(delay, MAX_RETRY_DELAY_MS);
}
