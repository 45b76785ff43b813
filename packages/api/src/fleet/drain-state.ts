/**
 * What the drain routes (routes/tracker-drains.ts) read and answer: the tracker a request names
 * (in the queue `?queue=` names, else in whichever queue has a tracker of that name) and its drains
 * as core's drains hash holds them, the whole tracker's and each GPU's.
 */
import {
  discoverQueues,
  drainedGpusOf,
  isLive,
  queueKeys,
  readDrains,
  type DrainRecord,
  type QueueKeys,
  type TrackerInfo,
} from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError } from '../errors.js';
import { queuesOf } from '../routes/fleet.js';

/** A drain as the API shows it. */
export interface DrainView {
  reason: string;
  at: string;
  by: string;
}

/** A tracker's drains: what it follows (at once when live, else at its next start). */
export interface DrainStateView {
  name: string;
  queue: string;
  /** Registered with a heartbeat within three heartbeat periods. */
  live: boolean;
  drained: DrainView | null;
  gpus: Array<{ id: number; drained: DrainView | null }>;
}

/** The tracker a drain route names: its queue's keys and its registration (null: none, only drains left). */
export interface NamedTracker {
  queue: string;
  keys: QueueKeys;
  info: TrackerInfo | null;
}

function view(record: DrainRecord | null | undefined): DrainView | null {
  return record ? { reason: record.reason, at: new Date(record.at).toISOString(), by: record.by } : null;
}

async function registration(ctx: ApiContext, keys: QueueKeys, name: string): Promise<TrackerInfo | null> {
  const raw = await ctx.redis.hget(keys.trackers, name);
  return raw === null ? null : (JSON.parse(raw) as TrackerInfo);
}

/** The tracker `name` in queue `queue`, or null (`orDrains`: also one that left but has drains). */
async function inQueue(
  ctx: ApiContext,
  name: string,
  queue: string,
  orDrains: boolean,
): Promise<NamedTracker | null> {
  const keys = queueKeys(ctx.prefix, queue);
  const info = await registration(ctx, keys, name);
  if (info) return { queue, keys, info };
  if (!orDrains) return null;
  const drained =
    (await readDrains(ctx.redis, keys, name, [])).tracker !== null ||
    (await drainedGpusOf(ctx.redis, keys, name)).length > 0;
  return drained ? { queue, keys, info: null } : null;
}

/**
 * The tracker `name` of the queue `queue` (or of any queue: the fleet's queues, scanned afresh
 * when none of those it knew has it). `orDrains`: a tracker that left the registry but still has
 * drains counts too (so that an operator can take them back). A 404 naming it when there is none;
 * a 400 naming `query.queue` when trackers of that name serve several queues.
 */
export async function findTracker(
  ctx: ApiContext,
  name: string,
  queue: string | undefined,
  orDrains = false,
): Promise<NamedTracker> {
  const known = await queuesOf(ctx, queue);
  const look = async (queues: string[]): Promise<NamedTracker[]> =>
    (await Promise.all(queues.map((q) => inQueue(ctx, name, q, orDrains)))).filter((t) => t !== null);
  let found = await look(known);
  if (found.length === 0 && queue === undefined) {
    // A queue younger than the directory's cache: scan now (an admin's request, seldom).
    const more = (await discoverQueues(ctx.redis, ctx.prefix)).filter((q) => !known.includes(q));
    found = await look(more);
  }
  const [only, ...more] = found;
  if (!only) {
    const where = queue === undefined ? '' : ` in queue ${queue}`;
    throw new ApiError('NOT_FOUND', `no tracker named ${name}${where}`, { details: { tracker: name } });
  }
  if (more.length > 0) {
    const queues = found.map((f) => f.queue);
    const reason = `trackers named ${name} serve the queues ${queues.join(', ')}: name one`;
    throw new ApiError('VALIDATION_FAILED', `invalid request: query.queue: ${reason}`, {
      details: { issues: [{ field: 'query.queue', reason }] },
    });
  }
  return only;
}

/** The tracker's drains now: the whole tracker's, and each of its GPUs' (or of the GPUs drained). */
export async function drainState(
  ctx: ApiContext,
  name: string,
  tracker: NamedTracker,
): Promise<DrainStateView> {
  const gpuIds = tracker.info?.gpus ?? (await drainedGpusOf(ctx.redis, tracker.keys, name));
  const drains = await readDrains(ctx.redis, tracker.keys, name, gpuIds);
  return {
    name,
    queue: tracker.queue,
    live: tracker.info !== null && isLive(tracker.info, ctx.now()),
    drained: view(drains.tracker),
    gpus: gpuIds.map((id) => ({ id, drained: view(drains.gpus.get(id)) })),
  };
}

/** A 400 naming `gpu` unless the tracker has GPU `gpu` (a tracker gone from the registry: any). */
export function checkGpu(name: string, tracker: NamedTracker, gpu: number | undefined): void {
  if (gpu === undefined || !tracker.info || tracker.info.gpus.includes(gpu)) return;
  const has = tracker.info.gpus;
  const reason = `tracker ${name} has no GPU ${gpu} (${has.length === 0 ? 'it has no GPU' : `its GPUs: ${has.join(', ')}`})`;
  throw new ApiError('VALIDATION_FAILED', `invalid request: gpu: ${reason}`, {
    details: { issues: [{ field: 'gpu', reason }] },
  });
}
