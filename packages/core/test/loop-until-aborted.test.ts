// The readers' loop: steps until stopped or a step says 'stop'; failures are counted in a row
// (reset by a success), reported, and followed by a growing backoff that an abort cuts short.
import { describe, expect, it } from 'vitest';
import { abortableSleep, loopUntilAborted } from '@gpufleet/core';

describe('loopUntilAborted', () => {
  it('counts failures in a row, backs off between them, and ends when a step says stop', async () => {
    const seen: number[] = [];
    const times: number[] = [];
    const script = ['fail', 'fail', 'ok', 'fail', 'stop'];
    const controller = new AbortController();
    await loopUntilAborted(
      controller.signal,
      async () => {
        times.push(performance.now());
        const next = script.shift();
        if (next === 'fail') throw new Error('down');
        return next === 'stop' ? 'stop' : undefined;
      },
      { baseMs: 20, maxMs: 40, onFailure: (_error, failures) => void seen.push(failures) },
    );
    expect(seen).toEqual([1, 2, 1]);
    expect(script).toEqual([]);
    // backoffMs(failures + 1): the second failure waits longer than the first, within the cap.
    const gap = (i: number): number => (times[i + 1] ?? 0) - (times[i] ?? 0);
    expect(gap(0)).toBeGreaterThanOrEqual(15);
    expect(gap(1)).toBeGreaterThanOrEqual(gap(0) - 5);
  });

  it('stops at once when aborted during a backoff, and reports no failure after the abort', async () => {
    const controller = new AbortController();
    const reported: unknown[] = [];
    let steps = 0;
    const started = performance.now();
    const loop = loopUntilAborted(
      controller.signal,
      async () => {
        steps++;
        throw new Error(`failure ${steps}`);
      },
      { baseMs: 5_000, maxMs: 5_000, onFailure: (error) => void reported.push(error) },
    );
    await abortableSleep(50);
    controller.abort();
    await loop;
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(steps).toBe(1);
    expect(reported).toHaveLength(1);
  });
});
