// A tracker's shadow time for a size: now when enough GPUs are free, else the time limit end of
// the running task that frees the last GPU needed (ends in time order), or null when even all of
// them would not free enough.
import { describe, expect, it } from 'vitest';
import { shadowTime } from '../src/shadow-times.js';

describe('shadowTime', () => {
  const ends = [
    { gpus: 2, endMs: 5_000 },
    { gpus: 1, endMs: 2_000 },
    { gpus: 4, endMs: 9_000 },
  ];
  it('is now when the GPUs are free now', () => {
    expect(shadowTime(1, 1, ends, 1_000)).toBe(1_000);
  });
  it('is when the running tasks, ending by their time limits, leave enough free', () => {
    expect(shadowTime(2, 1, ends, 1_000)).toBe(2_000); // 1 free + 1 at 2 s
    expect(shadowTime(4, 1, ends, 1_000)).toBe(5_000); // + 2 at 5 s
    expect(shadowTime(8, 1, ends, 1_000)).toBe(9_000); // + 4 at 9 s
  });
  it('is never before now, and null when even every end would not do', () => {
    expect(shadowTime(2, 1, [{ gpus: 1, endMs: 500 }], 1_000)).toBe(1_000);
    expect(shadowTime(9, 1, ends, 1_000)).toBeNull();
  });
});
