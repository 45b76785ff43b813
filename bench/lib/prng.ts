/**
 * A small seeded pseudo-random generator (mulberry32) for the benchmarks' traces: the same seed
 * gives the same numbers on every machine and Node version, which Math.random does not.
 */

/** A generator of numbers in [0, 1) from `seed` (any integer; taken modulo 2^32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
