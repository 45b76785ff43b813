// The scheduling simulator and figures of bench/compare-scheduling.ts on tiny traces whose
// schedules were worked out by hand (times in seconds in the comments, ms in the code).
import { describe, expect, it } from 'vitest';
import { makespanBoundMs, scheduleFigures } from './schedule-figures.js';
import { simulateSchedule, type SimFleet, type SimPolicy, type SimTask } from './schedule-sim.js';
import { makeTrace } from './scheduling-trace.js';

const task = (gpus: number, seconds: number): SimTask => ({ gpus, durationMs: seconds * 1000 });

/** [tracker, start s, end s] of each task. */
function placed(tasks: SimTask[], fleet: SimFleet, policy: SimPolicy): Array<[number, number, number]> {
  return simulateSchedule(tasks, fleet, policy).placements.map((p) => [
    p.tracker,
    p.startMs / 1000,
    p.endMs / 1000,
  ]);
}

describe('simulateSchedule', () => {
  // One tracker of 2 GPUs. A (1 GPU, 4 s) runs; B (2 GPUs) cannot start before A ends at 4.
  const blocked = [task(1, 4), task(2, 2), task(1, 1), task(1, 3)];
  const one2 = { trackers: 1, gpusPerTracker: 2 };

  it('oldest-first: nothing starts ahead of the first waiting task', () => {
    // C and D wait behind B although a GPU is free from 0 to 4.
    expect(placed(blocked, one2, 'oldest-first')).toEqual([
      [0, 0, 4],
      [0, 4, 6],
      [0, 6, 7],
      [0, 6, 9],
    ]);
    expect(simulateSchedule(blocked, one2, 'oldest-first').makespanMs).toBe(9000);
  });

  it('backfill: later tasks fill the gap when they end by the reservation', () => {
    // B is reserved at 4. C (1 s) runs 0–1; D (3 s) starts at 1, ends at 4: B still starts at 4.
    expect(placed(blocked, one2, 'easy-backfill')).toEqual([
      [0, 0, 4],
      [0, 4, 6],
      [0, 0, 1],
      [0, 1, 4],
    ]);
    expect(simulateSchedule(blocked, one2, 'easy-backfill').makespanMs).toBe(6000);
  });

  it('backfill: a task that would push the reservation back waits', () => {
    // One tracker of 4: A (2 GPUs, 3 s); B (4 GPUs) reserved at 3 with nothing spare. C (2 GPUs,
    // 5 s) fits now but would hold B to 5: it waits. D (1 GPU, 2 s) ends by 3: it runs.
    const tasks = [task(2, 3), task(4, 1), task(2, 5), task(1, 2)];
    const fleet = { trackers: 1, gpusPerTracker: 4 };
    expect(placed(tasks, fleet, 'easy-backfill')).toEqual([
      [0, 0, 3],
      [0, 3, 4],
      [0, 4, 9],
      [0, 0, 2],
    ]);
    expect(placed(tasks, fleet, 'oldest-first')).toEqual([
      [0, 0, 3],
      [0, 3, 4],
      [0, 4, 9],
      [0, 4, 6],
    ]);
  });

  it('backfill: a long task may take GPUs the reservation leaves spare, and only those', () => {
    // One tracker of 4: A (3 GPUs, 3 s); B (2 GPUs) reserved at 3, when 4 are free: 2 spare.
    // C and D (1 GPU, 10 s each) outlast the reservation: C takes the one GPU free now; D the next
    // free one (A ends at 3), as B starts: 2 + 1 + 1 = 4.
    const tasks = [task(3, 3), task(2, 1), task(1, 10), task(1, 10)];
    const fleet = { trackers: 1, gpusPerTracker: 4 };
    expect(placed(tasks, fleet, 'easy-backfill')).toEqual([
      [0, 0, 3],
      [0, 3, 4],
      [0, 0, 10],
      [0, 3, 13],
    ]);
    expect(placed(tasks, fleet, 'oldest-first')).toEqual([
      [0, 0, 3],
      [0, 3, 4],
      [0, 3, 13],
      [0, 3, 13],
    ]);
  });

  it('backfill: the reservation is on the tracker that frees up first; the others backfill freely', () => {
    // Two trackers of 2. A (2 GPUs, 4 s) → 0; B (1 GPU, 2 s) → 1. C (2 GPUs) is reserved on 1 at 2
    // (0 frees only at 4). D (1 GPU, 1 s) ends by 2: it runs on 1 from 0. E (1 GPU, 5 s) would
    // hold tracker 1 past 2 and 0 is full: it waits, and starts on 0 at 4.
    const tasks = [task(2, 4), task(1, 2), task(2, 3), task(1, 1), task(1, 5)];
    const fleet = { trackers: 2, gpusPerTracker: 2 };
    expect(placed(tasks, fleet, 'easy-backfill')).toEqual([
      [0, 0, 4],
      [1, 0, 2],
      [1, 2, 5],
      [1, 0, 1],
      [0, 4, 9],
    ]);
    expect(placed(tasks, fleet, 'oldest-first')).toEqual([
      [0, 0, 4],
      [1, 0, 2],
      [1, 2, 5],
      [0, 4, 5],
      [0, 4, 9],
    ]);
  });

  it('tasks that fit start at once, first fit, on every tracker', () => {
    const tasks = [task(1, 1), task(2, 1), task(1, 2), task(2, 1)];
    expect(placed(tasks, { trackers: 2, gpusPerTracker: 2 }, 'oldest-first')).toEqual([
      [0, 0, 1],
      [1, 0, 1],
      [0, 0, 2],
      [1, 1, 2],
    ]);
  });

  it('refuses a task bigger than a tracker', () => {
    expect(() => simulateSchedule([task(3, 1)], { trackers: 4, gpusPerTracker: 2 }, 'easy-backfill')).toThrow(
      /3 GPUs/,
    );
  });

  it('on a seeded 4 × 8 trace: backfill ends no later than oldest-first, never below the bound, never over a tracker’s GPUs', () => {
    const trace = makeTrace({ tasks: 200, seed: 7, maxGpus: 8 });
    const fleet = { trackers: 4, gpusPerTracker: 8 };
    const fifo = simulateSchedule(trace, fleet, 'oldest-first');
    const easy = simulateSchedule(trace, fleet, 'easy-backfill');
    expect(easy.makespanMs).toBeLessThanOrEqual(fifo.makespanMs);
    expect(easy.makespanMs).toBeGreaterThanOrEqual(makespanBoundMs(trace, 32));
    // No tracker ever runs more than its GPUs at once.
    for (const { placements } of [fifo, easy])
      for (const p of placements) {
        const atStart = placements
          .map((q, i) => ({ ...q, gpus: (trace[i] as SimTask).gpus }))
          .filter((q) => q.tracker === p.tracker && q.startMs <= p.startMs && q.endMs > p.startMs);
        expect(atStart.reduce((sum, q) => sum + q.gpus, 0)).toBeLessThanOrEqual(8);
      }
  });
});

describe('schedule figures', () => {
  it('utilisation, bound and the biggest tasks’ waits of the backfilled schedule above', () => {
    const tasks = [task(1, 4), task(2, 2), task(1, 1), task(1, 3)];
    const { placements } = simulateSchedule(tasks, { trackers: 1, gpusPerTracker: 2 }, 'easy-backfill');
    const times = placements.map((p, i) => ({
      gpus: (tasks[i] as SimTask).gpus,
      submitMs: 0,
      startMs: p.startMs,
      endMs: p.endMs,
    }));
    // 4 + 2×2 + 1 + 3 = 12 GPU-s on 2 GPUs: at least 6 s; the schedule takes 6 s, GPUs always busy.
    expect(makespanBoundMs(tasks, 2)).toBe(6000);
    expect(scheduleFigures(times, 2)).toEqual({
      makespanMs: 6000,
      busyGpuMs: 12_000,
      utilisation: 1,
      bigGpus: 2,
      bigTasks: 1,
      bigWaitMaxMs: 4000,
      bigWaitP50Ms: 4000,
    });
    // The longest task sets the bound when the GPU-time is small.
    expect(makespanBoundMs([task(1, 5), task(1, 1)], 4)).toBe(5000);
  });

  it('counts the makespan from the first submission to the last task done', () => {
    const figures = scheduleFigures(
      [
        { gpus: 2, submitMs: 100, startMs: 150, endMs: 1150, doneMs: 1200 },
        { gpus: 2, submitMs: 110, startMs: 1200, endMs: 1700, doneMs: 1800 },
        { gpus: 1, submitMs: 120, startMs: 160, endMs: 660 },
      ],
      4,
    );
    expect(figures.makespanMs).toBe(1700);
    expect(figures.busyGpuMs).toBe(2000 + 1000 + 500);
    expect(figures.utilisation).toBeCloseTo(3500 / (4 * 1700));
    expect([figures.bigWaitMaxMs, figures.bigWaitP50Ms]).toEqual([1090, (50 + 1090) / 2]);
  });
});

describe('makeTrace', () => {
  it('is the same for the same seed, and keeps to the sizes and durations asked', () => {
    const a = makeTrace({ tasks: 300, seed: 3, maxGpus: 8 });
    expect(makeTrace({ tasks: 300, seed: 3, maxGpus: 8 })).toEqual(a);
    expect(makeTrace({ tasks: 300, seed: 4, maxGpus: 8 })).not.toEqual(a);
    expect(new Set(a.map((t) => t.gpus))).toEqual(new Set([1, 2, 4, 8]));
    expect(Math.min(...a.map((t) => t.durationMs))).toBeGreaterThanOrEqual(500);
    expect(Math.max(...a.map((t) => t.durationMs))).toBeLessThanOrEqual(5000);
    const small = makeTrace({ tasks: 50, seed: 3, maxGpus: 2, scale: 0.1 });
    expect(new Set(small.map((t) => t.gpus))).toEqual(new Set([1, 2]));
    expect(Math.max(...small.map((t) => t.durationMs))).toBeLessThanOrEqual(500);
  });
});
