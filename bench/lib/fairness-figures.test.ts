// The figures of bench/compare-fairness.ts (and the next-free-slot delay compare-priority.ts
// shares) on a tiny schedule worked out by hand: 2 GPUs, times in ms.
import { describe, expect, it } from 'vitest';
import { fairnessFigures, type TenantLabel, type TenantTaskTimes } from './fairness-figures.js';
import { slotDelay } from './slot-delay.js';

const task = (tenant: TenantLabel, submitMs: number, startMs: number, endMs: number): TenantTaskTimes => ({
  tenant,
  gpus: 1,
  submitMs,
  startMs,
  endMs,
  doneMs: endMs + 10,
});

// A1 and A2 run from 0; B comes at 2000; A2's exit at 3000 is the next free slot and B1 takes it at
// 3050. A3 takes A1's GPU at 4020, B2 B1's at 6020 (B's last start: the contended period ends),
// A4 starts at 7010. Busy in [2000, 6020]: A 2000 + 1000 + 2000, B 2950 (B2 adds nothing).
const schedule = [
  task('A', 0, 0, 4000),
  task('A', 0, 0, 3000),
  task('A', 0, 4020, 7000),
  task('A', 0, 7010, 9000),
  task('B', 2000, 3050, 6000),
  task('B', 2001, 6020, 8000),
];

describe('fairnessFigures', () => {
  it('clips each task to the contended period and sets the shares against the weights', () => {
    const f = fairnessFigures(schedule, { A: 1, B: 1 });
    expect(f.contended).toEqual({ fromMs: 2000, toMs: 6020, lengthMs: 4020, endedBy: 'B' });
    expect(f.share.A).toBeCloseTo(5000 / 7950, 9);
    expect(f.share.B).toBeCloseTo(2950 / 7950, 9);
    expect(f.target).toEqual({ A: 0.5, B: 0.5 });
    expect(f.deviationPp).toBeCloseTo((2950 / 7950 - 0.5) * 100, 9);
    expect(f.bFirstDelayMs).toBe(50);
    expect(f.bFirstIdleGpu).toBe(false);
    expect(f.bFirstWaitMs).toBe(1050);
    expect(f.makespanMs).toBe(9010);
  });

  it('has targets only with weights, and A:B = 3:1 gives B a quarter', () => {
    expect(fairnessFigures(schedule, { A: 3, B: 1 }).target).toEqual({ A: 0.75, B: 0.25 });
    const one = fairnessFigures(schedule, null);
    expect(one.target.B).toBeNaN();
    expect(one.deviationPp).toBeNaN();
    expect(one.share.B).toBeCloseTo(2950 / 7950, 9);
  });

  it('has no contended period when A has started everything before B comes', () => {
    const f = fairnessFigures([task('A', 0, 0, 1000), task('B', 2000, 2000, 2500)], { A: 1, B: 1 });
    expect(f.contended.lengthMs).toBe(0);
    expect(f.share.B).toBeNaN();
    expect(f.bFirstIdleGpu).toBe(true);
    expect(f.bFirstDelayMs).toBe(0);
  });
});

describe('slotDelay', () => {
  it('counts from the first exit at or after the submission', () => {
    expect(slotDelay([900, 1500, 1000, 3000], 1000, 1040)).toEqual({
      freeAtMs: 1000,
      delayMs: 40,
      idleGpu: false,
    });
  });

  it('counts from the submission when the task started before any exit (a GPU was idle)', () => {
    expect(slotDelay([5000], 1000, 1200)).toEqual({ freeAtMs: 1000, delayMs: 200, idleGpu: true });
  });
});
