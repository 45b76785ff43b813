/**
 * How long a request keeps trying while the API is unreachable or answers 503: a time budget
 * (30 s by default) spent in capped exponential steps with jitter (100 ms doubling up to 2 s), or
 * in the steps the API's `Retry-After` asks for. One budget per logical request, so a retried
 * submit, or a log stream that reconnects, gives up after the same total time.
 */
export const RETRY_DEFAULTS = {
  /** Total time spent retrying one request. */
  retryForMs: 30_000,
  firstDelayMs: 100,
  maxDelayMs: 2000,
} as const;

export class RetryBudget {
  readonly #deadline: number;
  #attempt = 0;

  constructor(
    readonly retryForMs: number = RETRY_DEFAULTS.retryForMs,
    private readonly now: () => number = Date.now,
  ) {
    this.#deadline = now() + retryForMs;
  }

  /** Retries so far. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The pause before the next try, or null when the budget does not allow one. */
  nextDelayMs(retryAfterMs: number | null = null): number | null {
    const left = this.#deadline - this.now();
    if (left <= 0) return null;
    const step = Math.min(RETRY_DEFAULTS.firstDelayMs * 2 ** this.#attempt, RETRY_DEFAULTS.maxDelayMs);
    const delay = retryAfterMs ?? Math.round(step * (0.75 + Math.random() * 0.5));
    this.#attempt++;
    return Math.min(delay, left);
  }

  /**
   * Waits before the next try; false when the budget is spent (nothing was waited). `beforeWait`
   * hears of each wait before it starts.
   */
  async pause(
    retryAfterMs: number | null = null,
    signal?: AbortSignal,
    beforeWait?: (delayMs: number) => void,
  ): Promise<boolean> {
    const delay = this.nextDelayMs(retryAfterMs);
    if (delay === null) return false;
    beforeWait?.(delay);
    await sleep(delay, signal);
    return true;
  }
}

/**
 * Resolves after `ms`, or rejects once `signal` aborts with an `AbortError` (as Node's
 * `timers/promises` setTimeout does), in a browser too.
 */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = (): Error =>
      Object.assign(new Error('The operation was aborted', { cause: signal?.reason }), {
        name: 'AbortError',
        code: 'ABORT_ERR',
      });
    if (signal?.aborted) {
      reject(aborted());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `Retry-After` in milliseconds (seconds or an HTTP date), or null. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
