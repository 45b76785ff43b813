/**
 * The one capped exponential backoff of every retry loop (Redis reconnects and commands, the
 * artifact store, the spawner's restarts, the stream feeds).
 */

/** The delay before retry `failures` (1 for the first): `baseMs` doubling, at most `maxMs`. */
export function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.min(Math.max(0, failures - 1), 30), maxMs);
}
