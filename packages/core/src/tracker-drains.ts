/**
 * Operators' drains: a drained tracker, or a drained GPU of a tracker, finishes what it runs and
 * takes nothing new. They are kept in one hash per queue (`QueueKeys.drains`: field `<tracker>` for
 * the whole tracker, `<tracker>#<gpu index>` for one GPU, value JSON `{reason, at, by}`), so they
 * outlive a tracker's restart; each change also goes to the tracker's control stream, so a live
 * tracker applies it at once (the tracker's drains.ts), and it reads the hash at start and at each
 * heartbeat, so a missed message converges.
 *
 * @example
 * await setDrain(redis, keys, 'gpu-host-3', 1, { reason: 'fan noise', at: Date.now(), by: 'ops' });
 * const { tracker, gpus } = await readDrains(redis, keys, 'gpu-host-3', [0, 1]);
 * await clearDrain(redis, keys, 'gpu-host-3', 1);
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from './keys.js';

/** The longest reason a drain may give (characters). */
export const DRAIN_REASON_MAX = 200;

/** The reason of a drain given none. */
export const DEFAULT_DRAIN_REASON = 'drained by an operator';

/** One drain: why, when (ms) and by whom (the API key's name). */
export interface DrainRecord {
  reason: string;
  at: number;
  by: string;
}

/** A tracker's drains: the whole tracker's (or null) and its GPUs', by GPU index. */
export interface TrackerDrainState {
  tracker: DrainRecord | null;
  gpus: Map<number, DrainRecord>;
}

/** The control stream's message kinds for drains (`cmd`); `gpu` names the GPU, absent for the tracker. */
export const DRAIN_COMMANDS = { drain: 'drain', undrain: 'undrain' } as const;

/** How many messages a tracker's control stream keeps (as cancel.lua). */
const CONTROL_MAXLEN = 1000;

/** The hash field of a drain: `<tracker>`, or `<tracker>#<gpu>` (no tracker name holds `#`). */
export function drainField(tracker: string, gpu: number | null): string {
  return gpu === null ? tracker : `${tracker}#${gpu}`;
}

function parseRecord(raw: string | null | undefined): DrainRecord | null {
  if (raw === null || raw === undefined) return null;
  try {
    const value = JSON.parse(raw) as Partial<DrainRecord>;
    return {
      reason: typeof value.reason === 'string' ? value.reason : DEFAULT_DRAIN_REASON,
      at: typeof value.at === 'number' ? value.at : 0,
      by: typeof value.by === 'string' ? value.by : '',
    };
  } catch {
    // A value written by hand that is not JSON still drains: its text is the reason.
    return { reason: raw, at: 0, by: '' };
  }
}

/** Writes the drain and tells the tracker, in one MULTI (so the message never comes before the write). */
async function writeAndTell(
  redis: Redis,
  keys: QueueKeys,
  tracker: string,
  gpu: number | null,
  write: (multi: ReturnType<Redis['multi']>) => void,
  cmd: string,
): Promise<void> {
  const multi = redis.multi();
  write(multi);
  const where = gpu === null ? [] : ['gpu', String(gpu)];
  multi.xadd(keys.trackerControl(tracker), 'MAXLEN', '~', CONTROL_MAXLEN, '*', 'cmd', cmd, ...where);
  const replies = (await multi.exec()) ?? [];
  const failed = replies.find(([error]) => error);
  if (failed?.[0]) throw failed[0];
}

/** Drains tracker `tracker` (gpu null) or its GPU `gpu`; a second drain replaces the first's record. */
export async function setDrain(
  redis: Redis,
  keys: QueueKeys,
  tracker: string,
  gpu: number | null,
  record: DrainRecord,
): Promise<void> {
  const value = JSON.stringify(record);
  await writeAndTell(
    redis,
    keys,
    tracker,
    gpu,
    (multi) => multi.hset(keys.drains, drainField(tracker, gpu), value),
    DRAIN_COMMANDS.drain,
  );
}

/** Takes a drain back (the tracker is told even when there was none: it may hold the GPU on its own). */
export async function clearDrain(
  redis: Redis,
  keys: QueueKeys,
  tracker: string,
  gpu: number | null,
): Promise<void> {
  await writeAndTell(
    redis,
    keys,
    tracker,
    gpu,
    (multi) => multi.hdel(keys.drains, drainField(tracker, gpu)),
    DRAIN_COMMANDS.undrain,
  );
}

/** The drains of `tracker` and of its GPUs `gpuIds` (one HMGET). */
export async function readDrains(
  redis: Redis,
  keys: QueueKeys,
  tracker: string,
  gpuIds: readonly number[],
): Promise<TrackerDrainState> {
  const fields = [drainField(tracker, null), ...gpuIds.map((gpu) => drainField(tracker, gpu))];
  const [own, ...perGpu] = await redis.hmget(keys.drains, ...fields);
  const gpus = new Map<number, DrainRecord>();
  gpuIds.forEach((gpu, i) => {
    const record = parseRecord(perGpu[i]);
    if (record) gpus.set(gpu, record);
  });
  return { tracker: parseRecord(own), gpus };
}

/** The GPU indices `tracker` has drains for, whatever GPUs it has now (for an operator's clean-up). */
export async function drainedGpusOf(redis: Redis, keys: QueueKeys, tracker: string): Promise<number[]> {
  const prefix = `${tracker}#`;
  return (await redis.hkeys(keys.drains))
    .filter((field) => field.startsWith(prefix))
    .map((field) => Number(field.slice(prefix.length)))
    .filter((gpu) => Number.isSafeInteger(gpu))
    .sort((a, b) => a - b);
}
