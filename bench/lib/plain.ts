/** The limit: a plain loop spawning the program with execa, `concurrency` at a time. */
import { execa } from 'execa';

/** Runs `argv` `n` times, `concurrency` at once; returns tasks per second. */
export async function plainLoop(n: number, concurrency: number, argv: readonly string[]): Promise<number> {
  const [file = 'true', ...args] = argv;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        await execa(file, args, { reject: false });
      }
    }),
  );
  return n / ((performance.now() - started) / 1000);
}
