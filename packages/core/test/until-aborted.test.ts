// untilAborted: a promise raced against an abort signal, as the tracker's blocking reads and the
// API's stream feed wait; it gives the fallback on abort and leaves no listener behind.
import { describe, expect, it, vi } from 'vitest';
import { untilAborted } from '@gpufleet/core';

const pending = (): Promise<string> => new Promise<string>(() => undefined);

describe('untilAborted', () => {
  it("is the promise's value or rejection while the signal has not aborted", async () => {
    const controller = new AbortController();
    expect(await untilAborted(Promise.resolve('read'), controller.signal, 'closed')).toBe('read');
    await expect(untilAborted(Promise.reject(new Error('boom')), controller.signal, null)).rejects.toThrow(
      'boom',
    );
  });

  it('is the fallback once the signal aborts, and at once when it already has', async () => {
    const controller = new AbortController();
    const racing = untilAborted(pending(), controller.signal, 'closed');
    controller.abort();
    expect(await racing).toBe('closed');
    expect(await untilAborted(Promise.resolve('read'), controller.signal, 'closed')).toBe('closed');
  });

  it('removes its abort listener once the promise settles', async () => {
    const { signal } = new AbortController();
    const added = vi.spyOn(signal, 'addEventListener');
    const removed = vi.spyOn(signal, 'removeEventListener');
    await untilAborted(Promise.resolve(1), signal, 0);
    await untilAborted(Promise.reject(new Error('x')), signal, 0).catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(added).toHaveBeenCalledTimes(2);
    expect(removed.mock.calls.map((call) => call[1])).toEqual(added.mock.calls.map((call) => call[1]));
  });
});
