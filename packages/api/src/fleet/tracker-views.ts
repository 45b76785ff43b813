/**
 * The trackers as GET /v1/trackers shows them: each GPU with the task on it and that task's
 * tenant, the GPU as the tracker read it with nvidia-smi (model, memory, UUID, bus id, compute
 * capability, MIG mode), its latest usage sample and why it is held back; and the tasks on its CPU
 * slots. The tenants come from the running tasks' records, one HGET each, all in one pipeline for
 * the whole answer (one round trip however many trackers, GPUs and queues).
 *
 * An admin key sees everything. A user key sees its own tenant's tasks as an admin does; of another
 * tenant's task only that one runs there (`othersTask: true`, no id, no tenant), and a hold names no
 * process nor task: `processes` (pids and names of other people's programs) is left out, and the
 * reasons that name them are given in general words.
 */
import type { Redis } from 'ioredis';
import {
  isLive,
  listTrackers,
  queueKeys,
  type GpuDevice,
  type GpuHoldInfo,
  type GpuSample,
  type TrackerInfo,
} from '@gpufleet/core';
import type { Principal } from '../auth/api-keys.js';

/** A GPU of a tracker as nvidia-smi described it (its id is its index). */
export type GpuDeviceView = Omit<GpuDevice, 'index'>;

/** A GPU's latest usage sample, with when it was taken. */
export type GpuUsageView = Omit<GpuSample, 'index'> & { sampledAt: string };

/** Why a tracker gives a GPU to no task now though none of its tasks holds it. */
export type GpuHoldView = Omit<GpuHoldInfo, 'index'>;

/** Who reads the view: an admin key sees every task; a user key its own tenant's. */
export type Viewer = Pick<Principal, 'role' | 'tenant'>;

/** The task on a GPU or a CPU slot, as the viewer may see it. */
export interface SlotTask {
  /** null: free, or another tenant's task (user keys). */
  taskId: string | null;
  /** The task's tenant; null likewise, and for a task whose record is gone. */
  tenant: string | null;
  /** A user key: another tenant's task runs there. Always false for an admin key. */
  othersTask: boolean;
}

export interface TrackerView {
  name: string;
  queue: string;
  host: string;
  live: boolean;
  lastHeartbeat: string;
  startedAt: string;
  /** `device`: null when the tracker published no inventory entry for the GPU; `usage`: no sample. */
  gpus: Array<
    { id: number } & SlotTask & {
        device: GpuDeviceView | null;
        usage: GpuUsageView | null;
        /** Why the tracker gives it to no task now though none of its tasks holds it; null: it would. */
        hold: GpuHoldView | null;
      }
  >;
  /** Why the tracker takes no new task (drained by an operator), or null. */
  drained: string | null;
  /** How the tracker read its GPUs; null when it published no inventory (none, or an older tracker). */
  inventory: { driverVersion: string | null; cudaVersion: string | null; error: string | null } | null;
  cpuSlots: number;
  /** Ids of the tasks on CPU slots the viewer may see (a user key: its own tenant's). */
  cpuTasks: string[];
  /** One item per task on a CPU slot, every one, as a GPU shows its task. */
  cpuSlotTasks: SlotTask[];
  executers: string[];
}

/** Task id → its tenant; null when its record is gone (or has no tenant). */
export type TaskTenants = ReadonlyMap<string, string | null>;

const FREE: SlotTask = { taskId: null, tenant: null, othersTask: false };

/** What a user key is told of a hold whose reason names processes or a task. */
const GENERAL_REASONS = {
  busy: 'used by a process this tracker did not start',
  settling: 'the processes of the task that last had it have not left it yet',
  drained: 'the processes of the task that last had it did not leave it in time',
  unhealthy: 'a fault the driver reported; it takes no task until the tracker restarts',
} as const;

export function slotTask(taskId: string | undefined, tenants: TaskTenants, viewer: Viewer): SlotTask {
  if (taskId === undefined) return FREE;
  const tenant = tenants.get(taskId) ?? null;
  if (viewer.role === 'admin' || (tenant !== null && tenant === viewer.tenant)) {
    return { taskId, tenant, othersTask: false };
  }
  return { taskId: null, tenant: null, othersTask: true };
}

/**
 * The hold as the viewer may see it. For a user key: no `processes`, and in general words the
 * reasons that name processes or a task (busy, settling, a drain after a settle that timed out)
 * or may (an Xid's kernel log line names the process); an operator's drain keeps its reason.
 */
export function holdView(hold: GpuHoldInfo, viewer: Viewer): GpuHoldView {
  const { index: _index, ...view } = hold;
  if (viewer.role === 'admin') return view;
  const operatorDrain = hold.kind === 'drained' && hold.processes === undefined;
  return { kind: hold.kind, reason: operatorDrain ? hold.reason : GENERAL_REASONS[hold.kind] };
}

export function trackerView(
  queue: string,
  t: TrackerInfo,
  now: number,
  tenants: TaskTenants,
  viewer: Viewer,
): TrackerView {
  const holder = new Map<number, string>();
  const cpuSlotTasks: SlotTask[] = [];
  for (const [taskId, gpuIds] of Object.entries(t.running ?? {})) {
    if (gpuIds.length === 0) cpuSlotTasks.push(slotTask(taskId, tenants, viewer));
    for (const gpu of gpuIds) holder.set(gpu, taskId);
  }
  const inventory = t.gpuInventory;
  const deviceOf = (id: number): GpuDeviceView | null => {
    const found = inventory?.gpus.find((gpu) => gpu.index === id);
    if (!found) return null;
    const { index: _index, ...device } = found;
    return device;
  };
  const usageOf = (id: number): GpuUsageView | null => {
    const found = t.gpuStats?.gpus.find((gpu) => gpu.index === id);
    if (!found || !t.gpuStats) return null;
    const { index: _index, ...usage } = found;
    return { sampledAt: new Date(t.gpuStats.at).toISOString(), ...usage };
  };
  const holdOf = (id: number): GpuHoldView | null => {
    const found = t.gpuHolds?.find((hold) => hold.index === id);
    return found ? holdView(found, viewer) : null;
  };
  return {
    name: t.name,
    queue,
    host: t.host,
    live: isLive(t, now),
    lastHeartbeat: new Date(t.heartbeatAt).toISOString(),
    startedAt: new Date(t.startedAt).toISOString(),
    gpus: t.gpus.map((id) => ({
      id,
      ...slotTask(holder.get(id), tenants, viewer),
      device: deviceOf(id),
      usage: usageOf(id),
      hold: holdOf(id),
    })),
    drained: t.drained ?? null,
    inventory: inventory
      ? { driverVersion: inventory.driverVersion, cudaVersion: inventory.cudaVersion, error: inventory.error }
      : null,
    cpuSlots: t.cpuSlots,
    cpuTasks: cpuSlotTasks.flatMap((task) => (task.taskId === null ? [] : [task.taskId])),
    cpuSlotTasks,
    executers: t.executers,
  };
}

/** The tenant of every task the trackers run, read in one pipeline. */
export async function readTaskTenants(
  redis: Redis,
  prefix: string,
  trackers: ReadonlyArray<{ queue: string; info: TrackerInfo }>,
): Promise<TaskTenants> {
  const tasks = trackers.flatMap(({ queue, info }) =>
    Object.keys(info.running ?? {}).map((taskId) => ({ queue, taskId })),
  );
  const tenants = new Map<string, string | null>();
  if (tasks.length === 0) return tenants;
  const pipeline = redis.pipeline();
  for (const { queue, taskId } of tasks) pipeline.hget(queueKeys(prefix, queue).task(taskId), 'tenant');
  const replies = (await pipeline.exec()) ?? [];
  for (const [i, { taskId }] of tasks.entries()) {
    const [error, tenant] = replies[i] ?? [null, null];
    if (error) throw error;
    tenants.set(taskId, typeof tenant === 'string' && tenant !== '' ? tenant : null);
  }
  return tenants;
}

/** Every tracker of the queues, in queue order and by name within a queue. */
export async function trackerViews(
  redis: Redis,
  prefix: string,
  queues: readonly string[],
  now: number,
  viewer: Viewer,
): Promise<TrackerView[]> {
  const lists = await Promise.all(queues.map((queue) => listTrackers(redis, queueKeys(prefix, queue))));
  const trackers = queues.flatMap((queue, i) => (lists[i] ?? []).map((info) => ({ queue, info })));
  const tenants = await readTaskTenants(redis, prefix, trackers);
  return trackers.map(({ queue, info }) => trackerView(queue, info, now, tenants, viewer));
}
