/** A pause that an abort ends at once (between reconnects of the page's event streams). */
export const pause = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** How long to wait before reconnect number `failures` + 1: 1 s, doubling, at most 30 s. */
export const reconnectDelayMs = (failures: number): number => Math.min(30_000, 1000 * 2 ** failures);
