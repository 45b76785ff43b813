// Which running tasks a preemption stops (preemption.ts chooseVictims), and which entries of the
// events stream make a full tracker look again (mayCallForPreemption): enough to make room, the
// lowest priority first and of equals the latest started (the least work lost), and none that the
// others make room without; nothing when they cannot make room or none is needed.
import { describe, expect, it } from 'vitest';
import { chooseVictims, mayCallForPreemption } from '../src/preemption.js';

const task = (id: string, priority: number, startedAt: number, slots: number) => ({
  id,
  priority,
  startedAt,
  slots,
});
const ids = (chosen: Array<{ id: string }> | null): string[] | null => chosen?.map((c) => c.id) ?? null;

describe('chooseVictims', () => {
  it('stops the lowest priority first, and of equals the latest started', () => {
    const running = [task('old', 100, 1, 1), task('new', 100, 5, 1), task('mid', 200, 9, 1)];
    expect(ids(chooseVictims(1, 0, running))).toEqual(['new']);
    expect(ids(chooseVictims(2, 0, running))).toEqual(['new', 'old']);
    expect(ids(chooseVictims(3, 0, running))).toEqual(['new', 'old', 'mid']);
  });

  it('counts the free slots, and keeps a task the others make room without', () => {
    const running = [task('one', 100, 5, 1), task('four', 200, 1, 4)];
    // One GPU free, four needed: the 1-GPU task alone is not enough, the 4-GPU one alone is.
    expect(ids(chooseVictims(4, 1, running))).toEqual(['four']);
    expect(ids(chooseVictims(2, 1, running))).toEqual(['one']);
  });

  it('stops nothing when that would not make room, or room is free already', () => {
    expect(chooseVictims(4, 1, [task('a', 1, 1, 1), task('b', 1, 2, 1)])).toBeNull();
    expect(chooseVictims(1, 1, [task('a', 1, 1, 1)])).toBeNull();
    expect(chooseVictims(1, 0, [])).toBeNull();
  });
});

describe('mayCallForPreemption', () => {
  it('is an arrival or a priority change above the lowest priority running, or an unknown one', () => {
    expect(mayCallForPreemption(['id', 'x', 'status', 'queued', 'priority', '301'], 300)).toBe(true);
    expect(mayCallForPreemption(['id', 'x', 'status', 'queued', 'priority', '300'], 300)).toBe(false);
    expect(mayCallForPreemption(['id', 'x', 'change', 'priority', 'priority', '900'], 300)).toBe(true);
    expect(mayCallForPreemption(['id', 'x', 'status', 'queued'], 300)).toBe(true);
    expect(mayCallForPreemption(['id', 'x', 'status', 'succeeded'], 300)).toBe(false);
    expect(mayCallForPreemption(['id', 'x', 'change', 'preempted', 'by', 'y'], 300)).toBe(false);
  });
});
