/**
 * The tracker's GPUs as take sees them for the tasks that ask for a GPU model or memory (core
 * gpu-request.ts, lua/lib-gpu-request.lua): grouped by model and memory, each group with how many
 * GPUs it has, how many are free now, when each busy one frees by its task's time limit (the
 * request's shadow time for backfill; a shared GPU's by its last share's), and the room a share
 * could have on each of its GPUs that take shares now. Empty for a tracker whose GPUs were not described (no
 * nvidia-smi): it takes no task with a request.
 */
import { normalizeGpuName, type GpuGroup, type GpuInventory, type RequestedGpu } from '@gpufleet/core';
import type { ExpectedEnd } from '../shadow-times.js';
import type { SlotPool } from '../slot-pool.js';

export function gpuGroupsOf(pool: SlotPool, ends: readonly ExpectedEnd[], now: number): GpuGroup[] {
  if (pool.devices.size === 0) return [];
  // Free GPUs that take nothing now (a suspect runs alone, or too many tasks are finishing) count
  // as freeing now: as the GPU counts' shadow times have them.
  const accepting = pool.fitsNow(1);
  const free = new Set(pool.freeGpuIds);
  const endOf = new Map<number, number>();
  for (const end of ends)
    for (const id of end.gpuIds ?? []) endOf.set(id, Math.max(endOf.get(id) ?? 0, end.endMs));
  type Group = GpuGroup & { freeAt: number[]; shareRoom: number[] };
  const groups = new Map<string, Group>();
  for (const id of pool.gpuIds) {
    const device = pool.devices.get(id);
    if (!device) continue;
    const key = `${normalizeGpuName(device.name)}\t${device.memoryMiB ?? ''}`;
    let group = groups.get(key);
    if (!group)
      groups.set(
        key,
        (group = {
          name: device.name,
          memoryMiB: device.memoryMiB,
          total: 0,
          free: 0,
          freeAt: [],
          shareRoom: [],
        }),
      );
    group.total++;
    const end = free.has(id) ? (accepting ? null : now) : endOf.get(id);
    if (free.has(id) && accepting) group.free++;
    else if (end !== undefined && end !== null) group.freeAt.push(Math.max(now, end));
    const room = pool.shareRoomMiB(id);
    if (room !== null && room > 0) group.shareRoom.push(room);
  }
  return [...groups.values()];
}

/** Each GPU id's model and memory from the inventory (none without one), for the slot pool. */
export function gpuDevices(inventory: GpuInventory | undefined): Map<number, RequestedGpu> {
  return new Map((inventory?.gpus ?? []).map((g) => [g.index, { name: g.name, memoryMiB: g.memoryMiB }]));
}
