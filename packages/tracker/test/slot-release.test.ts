// A task gives its GPUs back when its process ends, not when its outputs are stored: the next task
// runs while the previous one's outputs are still being written. How many tasks may be storing
// outputs at once is bounded (twice the slots, at least 8), so a slow store slows the tracker, never
// piles up.
import { describe, expect, it } from 'vitest';
import {
  enqueue,
  getTask,
  LocalArtifactStore,
  queueKeys,
  type FileDigest,
  type PutResult,
} from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { SlotPool, type TaskEvent } from '@gpufleet/tracker';
import type { Readable } from 'node:stream';
import { startTestTracker, useTrackers, waitForFinal } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

/** A folder store whose writes wait until the gate opens. */
class GatedStore extends LocalArtifactStore {
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  release(): void {
    this.open();
  }
  override async put(key: string, source: Readable | Buffer | string): Promise<PutResult> {
    await this.gate;
    return super.put(key, source);
  }
  override async putFile(key: string, path: string, known?: FileDigest): Promise<PutResult> {
    await this.gate;
    return super.putFile(key, path, known);
  }
}

describe('slots are freed when the process ends', () => {
  it('runs the next task on the GPU while earlier tasks are storing their outputs, up to the bound', async () => {
    const bound = new SlotPool([0], 0).maxFinishing; // max(MIN_FINISHING, 2 × slots)
    expect(bound).toBe(8);
    const artifactDir = await temp.make();
    const store = new GatedStore(artifactDir);
    const prefix = uniquePrefix();
    const keys = queueKeys(prefix, 'default');
    const tracker = await startTestTracker({
      redisUrl: redis.server.url,
      prefix,
      artifactDir,
      workDir: await temp.make(),
      gpuIds: [0],
      store,
    });
    trackers.push(tracker);
    const events: TaskEvent[] = [];
    tracker.on('task', (event) => events.push(event));
    const client = redis.server.client();
    const ids: string[] = [];
    // The last task that may start runs long; the ones after it must wait for storage, not the GPU.
    for (let i = 0; i < bound + 2; i++) {
      const spec = { executer: 'probe', gpus: 1, params: i === bound - 1 ? { sleepMs: 60_000 } : {} };
      ids.push((await enqueue({ redis: client, prefix }, spec)).id);
    }
    const long = ids[bound - 1] as string;
    const waiting = ids.slice(bound);
    // bound - 1 tasks ended and wait on the store; the long one holds GPU 0 meanwhile.
    await waitFor(() => events.some((e) => e.type === 'spawned' && e.taskId === long), { timeoutMs: 20_000 });
    for (const id of ids.slice(0, bound - 1))
      expect((await getTask(client, keys, id))?.status).toBe('uploading');
    expect(tracker.info().running).toEqual({ [long]: [0] });
    // The long one is cancelled: now `bound` tasks are storing outputs, so the rest wait with GPU 0 free.
    tracker.running.get(long)?.kill('cancelled');
    await waitFor(async () => (await getTask(client, keys, long))?.status === 'uploading', {
      timeoutMs: 10_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(events.some((e) => waiting.includes(e.taskId))).toBe(false);
    for (const id of waiting) expect((await getTask(client, keys, id))?.status).toBe('queued');
    store.release();
    for (const id of ids.filter((id) => id !== long))
      expect((await waitForFinal(client, keys, id)).status).toBe('succeeded');
    expect((await waitForFinal(client, keys, long)).status).toBe('cancelled');
  });
});
