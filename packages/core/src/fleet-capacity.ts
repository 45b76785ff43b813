/**
 * Whether any live tracker of a queue could ever run a task: offers its executer, has enough GPUs
 * (or a CPU slot for a task of none) and, for a task with a GPU request (gpu-request.ts), enough
 * GPUs that satisfy it. The API refuses at submission a task that none could run (unless the spec
 * says `waitForCapacity`), naming the shortfall by field; the trackers' unschedulable sweep ends
 * such a task `dead` after a grace when it was accepted anyway and no tracker came.
 */
import type { Redis } from 'ioredis';
import type { FieldIssue } from './errors.js';
import { describeGpuRequest, gpuSatisfies, isGpuRequest, type GpuRequest } from './gpu-request.js';
import type { QueueKeys } from './keys.js';
import { listLiveTrackers, type TrackerInfo } from './tracker-registry.js';

/** What a task needs of a tracker. `executer` omitted: any tracker's executers will do. */
export interface CapacityNeed {
  executer?: string;
  gpus: number;
  request: GpuRequest;
  /**
   * It has an env setup line: every live tracker offering its executer must run them
   * (GPUFLEET_ALLOW_ENV_SETUP), since any of them may take it, and one that does not fails it.
   */
  envSetup?: boolean;
}

/** How many of tracker `t`'s GPUs satisfy `request` (those its inventory describes). */
export function satisfyingGpus(t: TrackerInfo, request: GpuRequest): number {
  const used = new Set(t.gpus);
  return (t.gpuInventory?.gpus ?? []).filter((g) => used.has(g.index) && gpuSatisfies(request, g)).length;
}

/** `2 × NVIDIA A100-SXM4-40GB (40960 MiB)`, per model and memory, over `trackers`. */
function gpuModelsText(trackers: readonly TrackerInfo[]): string {
  const counts = new Map<string, number>();
  for (const t of trackers) {
    const used = new Set(t.gpus);
    for (const g of t.gpuInventory?.gpus ?? []) {
      if (!used.has(g.index)) continue;
      const key = `${g.name}${g.memoryMiB !== null ? ` (${g.memoryMiB} MiB)` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const undescribed = trackers.filter((t) => t.gpus.length > 0 && !t.gpuInventory?.gpus.length).length;
  const parts = [...counts].map(([model, n]) => `${n} × ${model}`);
  if (undescribed > 0) parts.push(`${undescribed} tracker(s) whose GPUs nvidia-smi did not describe`);
  return parts.length > 0 ? parts.join(', ') : 'no GPUs';
}

/**
 * Why no tracker of `live` (the queue's live trackers) can run `need`, by field ([] when one can):
 * the first shortfall in the order executer, env setup, GPU count, GPU request.
 */
export function capacityShortfall(
  need: CapacityNeed,
  live: readonly TrackerInfo[],
  queue: string,
): FieldIssue[] {
  const where = `queue "${queue}"`;
  if (live.length === 0)
    return [{ field: 'queue', reason: `${where} has no live tracker (none has sent a heartbeat lately)` }];
  const offering =
    need.executer === undefined ? live : live.filter((t) => t.executers.includes(need.executer ?? ''));
  if (offering.length === 0) {
    const offered = [...new Set(live.flatMap((t) => t.executers))].sort().join(', ') || 'none';
    return [
      {
        field: 'executer',
        reason: `no live tracker of ${where} offers "${need.executer}" (they offer: ${offered})`,
      },
    ];
  }
  const of = need.executer === undefined ? '' : ` offering "${need.executer}"`;
  const refusing = need.envSetup ? offering.filter((t) => t.envSetup !== true).map((t) => t.name) : [];
  if (refusing.length > 0)
    return [
      {
        field: 'envSetup',
        reason: `needs every live tracker of ${where}${of} to run env setup lines, but ${refusing.sort().join(', ')} do not (started without GPUFLEET_ALLOW_ENV_SETUP=1)`,
      },
    ];
  if (need.gpus === 0) {
    if (offering.some((t) => t.cpuSlots > 0)) return [];
    return [
      { field: 'gpus', reason: `is 0 (a CPU slot), but no live tracker of ${where}${of} has CPU slots` },
    ];
  }
  const big = offering.filter((t) => t.gpus.length >= need.gpus);
  if (big.length === 0) {
    const most = Math.max(0, ...offering.map((t) => t.gpus.length));
    return [
      { field: 'gpus', reason: `is ${need.gpus}, but the largest live tracker of ${where}${of} has ${most}` },
    ];
  }
  if (!isGpuRequest(need.request) || big.some((t) => satisfyingGpus(t, need.request) >= need.gpus)) return [];
  const { models, minMemoryMiB } = need.request;
  // Blame the models when they alone rule every tracker out, else the memory (alone or with them):
  // the share when it is what asks for the most memory.
  const enough = (request: GpuRequest): boolean => big.some((t) => satisfyingGpus(t, request) >= need.gpus);
  const modelsAlone = models.length > 0 && !enough({ models, minMemoryMiB: null });
  const share = need.request.shareMiB ?? null;
  const memoryField = share !== null && share >= (minMemoryMiB ?? 0) ? 'gpuShareMiB' : 'minGpuMemoryMiB';
  const field = modelsAlone || (minMemoryMiB === null && share === null) ? 'gpuModels' : memoryField;
  const reason =
    `asks for ${need.gpus} GPU(s) of ${describeGpuRequest(need.request)}, but no live tracker of ${where}${of} ` +
    `has that many (their GPUs: ${gpuModelsText(big)})`;
  return [{ field, reason }];
}

/** How long a read of the live trackers is trusted for a submission's capacity check. */
export const LIVE_TRACKERS_CACHE_MS = 1000;

const recent = new WeakMap<Redis, Map<string, { at: number; live: TrackerInfo[] }>>();

/**
 * The queue's live trackers, read at most every LIVE_TRACKERS_CACHE_MS through this client (`fresh`:
 * read now, as a refusal does before it refuses, so that a tracker that has just joined counts).
 */
export async function liveTrackersFor(
  redis: Redis,
  keys: QueueKeys,
  now: number,
  fresh = false,
): Promise<TrackerInfo[]> {
  let byQueue = recent.get(redis);
  if (!byQueue) recent.set(redis, (byQueue = new Map()));
  const cached = byQueue.get(keys.trackers);
  if (!fresh && cached && now - cached.at <= LIVE_TRACKERS_CACHE_MS && now >= cached.at) return cached.live;
  const live = await listLiveTrackers(redis, keys, now);
  byQueue.set(keys.trackers, { at: now, live });
  return live;
}
