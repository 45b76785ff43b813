// How the tracker's drains (src/drains.ts) share the slot pool's GPU holds with the tracker's other
// holds: a GPU held for another reason keeps that hold, and is held for its drain the moment the
// other hold goes (never free in between); taking a drain back frees only the hold the drain put
// on; an undrain message naming a GPU also frees a `drained` hold the tracker put on by itself;
// each change is announced once (the `drain-changed` event) and reading the same drains again
// announces nothing.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeys, silentLogger, type DrainRecord, type TrackerDrainState } from '@gpufleet/core';
import type { TrackerEventMap } from '@gpufleet/tracker';
import { TrackerDrains } from '../src/drains.js';
import { SlotPool } from '../src/slot-pool.js';

type Announced = TrackerEventMap['drain-changed'];

function setup(gpuIds: number[] = [0, 1]) {
  const pool = new SlotPool(gpuIds, 0);
  const announced: Announced[] = [];
  const drains = new TrackerDrains({
    redis: {} as Redis, // apply() reads nothing
    keys: queueKeys('gf', 'default'),
    consumer: 'tracker-a',
    pool,
    logger: silentLogger(),
    emit: (name, payload) => {
      if (name === 'drain-changed') announced.push(payload as Announced);
    },
  });
  return { pool, drains, announced };
}

const record = (reason: string): DrainRecord => ({ reason, at: 1, by: 'ops' });
const state = (tracker: DrainRecord | null, gpus: Array<[number, DrainRecord]> = []): TrackerDrainState => ({
  tracker,
  gpus: new Map(gpus),
});

describe('drains and the pool’s holds', () => {
  it('holds a drained GPU and the whole tracker, and gives back exactly that', () => {
    const { pool, drains, announced } = setup();
    expect(drains.apply(state(record('update'), [[1, record('fan')]]))).toBe(true);
    expect(pool.drained).toBe('update');
    expect(pool.heldGpus.get(1)).toEqual({ kind: 'drained', reason: 'fan' });
    expect(pool.fitsNow(1)).toBe(false);
    // The same drains again: nothing changes, nothing is announced.
    expect(drains.apply(state(record('update'), [[1, record('fan')]]))).toBe(false);
    expect(announced).toEqual([
      { gpu: null, reason: 'update', by: 'ops' },
      { gpu: 1, reason: 'fan', by: 'ops' },
    ]);
    // The tracker undrained: GPU 0 takes tasks, GPU 1 keeps its own drain.
    drains.apply(state(null, [[1, record('fan')]]));
    expect(pool.drained).toBeNull();
    expect(pool.freeGpuIds).toEqual([0]);
    drains.apply(state(null));
    expect(pool.freeGpuIds).toEqual([0, 1]);
    expect(announced.slice(2)).toEqual([
      { gpu: null, reason: null, by: null },
      { gpu: 1, reason: null, by: null },
    ]);
  });

  it('leaves another kind of hold in place and drains the GPU the moment it goes', () => {
    const { pool, drains } = setup();
    pool.hold(1, { kind: 'busy', reason: 'python' });
    drains.apply(state(null, [[1, record('fan')]]));
    expect(pool.heldGpus.get(1)).toEqual({ kind: 'busy', reason: 'python' });
    let freeWhenChanged: readonly number[] | null = null;
    pool.onChange(() => (freeWhenChanged ??= [...pool.freeGpuIds]));
    pool.unhold(1, 'busy');
    // Held again by the drain within the change itself: a take, which runs later on a promise, never sees it free.
    expect(pool.heldGpus.get(1)).toEqual({ kind: 'drained', reason: 'fan' });
    expect(freeWhenChanged).toEqual([0]);
    expect(pool.freeGpuIds).toEqual([0]);
  });

  it('gives back a GPU the tracker drained by itself only when an undrain message names it', () => {
    const { pool, drains, announced } = setup();
    pool.hold(1, { kind: 'drained', reason: 'settle timed out' });
    drains.apply(state(null));
    drains.apply(state(null), { gpu: null });
    expect(pool.heldGpus.get(1)).toEqual({ kind: 'drained', reason: 'settle timed out' });
    expect(announced).toEqual([]);
    expect(drains.apply(state(null), { gpu: 1 })).toBe(true);
    expect(pool.heldGpus.has(1)).toBe(false);
    expect(announced).toEqual([{ gpu: 1, reason: null, by: null }]);
  });

  it('ignores drains of GPUs it does not have', () => {
    const { pool, drains, announced } = setup([0]);
    expect(drains.apply(state(null, [[5, record('gone')]]))).toBe(false);
    expect(pool.heldGpus.size).toBe(0);
    expect(announced).toEqual([]);
  });
});
