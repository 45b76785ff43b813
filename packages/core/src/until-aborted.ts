/**
 * Races a promise against an abort signal: a wait (a blocking read, a claim) that must end at once
 * when its owner stops, without waiting for the operation itself to settle.
 */

/**
 * `promise`, or `fallback` once `signal` aborts (at once when it already has), whichever comes
 * first. `promise` goes on, unawaited; the abort listener is removed once it settles.
 */
export function untilAborted<T, F>(promise: Promise<T>, signal: AbortSignal, fallback: F): Promise<T | F> {
  if (signal.aborted) return Promise.resolve(fallback);
  return new Promise<T | F>((resolve, reject) => {
    const onAbort = (): void => resolve(fallback);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
