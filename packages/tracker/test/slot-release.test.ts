// A task gives its GPUs back when its process ends, not when its outputs are stored: the next task
// runs while the previous one's outputs are still being written. How many tasks may be storing
// outputs at once is bounded (twice the slots), so a slow store slows the tracker, never piles up.
import { afterEach, describe, expect, it } from 'vitest';
import {
  enqueue,
  getTask,
  LocalArtifactStore,
  queueKeys,
  type FileDigest,
  type PutResult,
} from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { TaskEvent, Tracker } from '@gpufleet/tracker';
import type { Readable } from 'node:stream';
import { startTestTracker, waitForFinal } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers: Tracker[] = [];
afterEach(async () => Promise.all(trackers.splice(0).map((t) => t.close())));

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
  it('runs the next task on the GPU while the previous task is storing its outputs, up to twice the slots', async () => {
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
    for (let i = 0; i < 4; i++) {
      const spec = { executer: 'probe', gpus: 1, params: i === 1 ? { sleepMs: 60_000 } : {} };
      ids.push((await enqueue({ redis: client, prefix }, spec)).id);
    }
    const [first, second, third, fourth] = ids as [string, string, string, string];
    // The first ends and waits on the store; the second holds GPU 0 meanwhile.
    await waitFor(() => events.some((e) => e.type === 'spawned' && e.taskId === second), {
      timeoutMs: 10_000,
    });
    expect((await getTask(client, keys, first))?.status).toBe('uploading');
    expect(tracker.info().running).toEqual({ [second]: [0] });
    // The second is cancelled: now two tasks are storing outputs (the limit for one GPU), so the third waits.
    tracker.running.get(second)?.kill('cancelled');
    await waitFor(async () => (await getTask(client, keys, second))?.status === 'uploading', {
      timeoutMs: 10_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(events.some((e) => e.taskId === third)).toBe(false);
    expect((await getTask(client, keys, third))?.status).toBe('queued');
    store.release();
    for (const id of [first, third, fourth])
      expect((await waitForFinal(client, keys, id)).status).toBe('succeeded');
    expect((await waitForFinal(client, keys, second)).status).toBe('cancelled');
  });
});
