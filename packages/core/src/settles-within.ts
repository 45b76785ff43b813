/**
 * Bounds a wait: whether a promise settles within a time, for shutdown steps that must not hang
 * on a Redis or a store that is down.
 */

/**
 * Whether `promise` settles (fulfils or rejects) within `ms`; its rejection is swallowed, and
 * `null` counts as settled. The timer is cleared as soon as it does.
 */
export async function settlesWithin(promise: Promise<unknown> | null, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  const settled = (promise ?? Promise.resolve()).then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
