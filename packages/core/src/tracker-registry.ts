/**
 * The queue's registry of trackers: each tracker keeps its registration (host, slots, executers,
 * running tasks) in the registry hash and refreshes `heartbeatAt`; a tracker is live while its
 * heartbeat is younger than three of its heartbeat intervals.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from './keys.js';

export interface TrackerInfo {
  name: string;
  instance: string;
  host: string;
  pid: number;
  pidStartTime: string | null;
  gpus: number[];
  cpuSlots: number;
  executers: string[];
  /** Task id → the GPUs it holds ([] for a CPU slot). */
  running: Record<string, number[]>;
  startedAt: number;
  heartbeatAt: number;
  heartbeatMs: number;
}

export function isLive(info: TrackerInfo, now: number): boolean {
  return now - info.heartbeatAt <= 3 * info.heartbeatMs;
}

export async function listTrackers(redis: Redis, keys: QueueKeys): Promise<TrackerInfo[]> {
  const raw = await redis.hgetall(keys.trackers);
  return Object.values(raw)
    .map((value) => JSON.parse(value) as TrackerInfo)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

export async function listLiveTrackers(
  redis: Redis,
  keys: QueueKeys,
  now: number = Date.now(),
): Promise<TrackerInfo[]> {
  return (await listTrackers(redis, keys)).filter((t) => isLive(t, now));
}
