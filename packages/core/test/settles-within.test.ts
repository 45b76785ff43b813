// settlesWithin: whether a promise settles (fulfils or rejects) within a time, the bound every
// shutdown wait of the tracker and the API uses; its timer never outlives the answer.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { settlesWithin } from '@gpufleet/core';

afterEach(() => vi.useRealTimers());

describe('settlesWithin', () => {
  it('is true for a promise that fulfils or rejects in time, and for null', async () => {
    expect(await settlesWithin(Promise.resolve('done'), 1000)).toBe(true);
    expect(await settlesWithin(Promise.reject(new Error('failed')), 1000)).toBe(true);
    expect(await settlesWithin(null, 1000)).toBe(true);
  });

  it('is false once the time passes, and true for one that settles just before', async () => {
    vi.useFakeTimers();
    const never = new Promise<void>(() => undefined);
    const late = settlesWithin(never, 500);
    await vi.advanceTimersByTimeAsync(499);
    let answered = false;
    void late.then(() => (answered = true));
    await Promise.resolve();
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await late).toBe(false);

    let settle!: () => void;
    const soon = settlesWithin(new Promise<void>((resolve) => (settle = resolve)), 500);
    await vi.advanceTimersByTimeAsync(499);
    settle();
    expect(await soon).toBe(true);
  });

  it('clears its timer as soon as it answers', async () => {
    vi.useFakeTimers();
    expect(await settlesWithin(Promise.resolve(), 60_000)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
