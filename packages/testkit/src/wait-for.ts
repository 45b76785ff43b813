import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';

export interface WaitForOptions {
  /** Give up after this long; default 10 000. */
  timeoutMs?: number;
  /** Pause between two calls of the condition; default 20. */
  intervalMs?: number;
  /** What was awaited, for the error thrown on timeout. */
  message?: string;
}

/** The values `waitFor` returns: everything `T` can be except a falsy value. */
export type Truthy<T> = Exclude<T, null | undefined | false | '' | 0 | 0n>;

/**
 * Calls `fn` until it returns (or resolves to) a truthy value and returns that value. A call that
 * throws counts as "not yet". After `timeoutMs` it throws an Error naming `message` and the last
 * error or value seen (the last error is also the `cause`). For conditions, never fixed sleeps.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let last: { error: unknown } | { value: unknown } = { value: undefined };
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as Truthy<T>;
      last = { value };
    } catch (error) {
      last = { error };
    }
    const leftMs = deadline - Date.now();
    if (leftMs <= 0) break;
    await delay(Math.min(intervalMs, leftMs));
  }
  const what = options.message ?? 'condition';
  const seen =
    'error' in last
      ? `last error: ${describe(last.error)}`
      : `last value: ${inspect(last.value, { depth: 2 })}`;
  throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms (${seen})`, {
    cause: 'error' in last ? last.error : undefined,
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : inspect(error, { depth: 2 });
}
