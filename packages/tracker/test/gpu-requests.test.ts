// GPU model and memory requests on real trackers that read their GPUs from fake nvidia-smi's: one
// tracker with an H100 and a T4, another with an A100 40GB, on one queue. Each task runs on a tracker
// and on GPUs that satisfy its request (the T4 task gets GPU 1, not the lowest free id), whichever
// tracker looks first; a request no tracker satisfies ends `dead` (UNSCHEDULABLE, naming the
// shortfall) after the grace, unless the task was submitted to wait for capacity.
import { describe, expect, it } from 'vitest';
import { enqueue, getTask, type TaskRecord } from '@gpufleet/core';
import {
  fakeGpu,
  fakeMachine,
  installFakeNvidiaSmi,
  uniquePrefix,
  useRedis,
  useTempDirs,
  type FakeGpu,
} from '@gpufleet/testkit';
import { startFakeGpuTracker } from './helpers/fake-gpu-tracker.js';
import { useTrackers, waitForFinal } from './helpers/fleet.js';
import { nextEvent } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

/** A tracker of queue `prefix` that reads `gpus` from a fake nvidia-smi of its own. */
async function trackerWith(prefix: string, name: string, gpus: FakeGpu[], more: Record<string, string> = {}) {
  const smi = await installFakeNvidiaSmi(await temp.make(), fakeMachine(gpus));
  const env = { GPUFLEET_PREFIX: prefix, REDIS_CONSUMER_NAME: name, GPUFLEET_SWEEP_MS: '100', ...more };
  return (await startFakeGpuTracker({ redis: redis.server, temp, trackers, smi, env })).tracker;
}

describe('GPU model and memory requests', () => {
  it('runs each task on a tracker, and on GPUs, that satisfy its request', async () => {
    const prefix = uniquePrefix();
    const mixed = await trackerWith(prefix, 'h100-t4', [fakeGpu('H100', 0), fakeGpu('T4', 1)]);
    await trackerWith(prefix, 'a100', [fakeGpu('A100-40GB', 0)]);
    const client = redis.server.client();
    const submit = async (spec: Record<string, unknown>): Promise<string> =>
      (await enqueue({ redis: client, prefix }, { executer: 'probe', params: { sleepMs: 200 }, ...spec })).id;
    const t4 = await submit({ gpuModels: ['T4'] });
    const a100 = await submit({ gpuModels: ['a100'] });
    const big = await submit({ minGpuMemoryMiB: 50_000 }); // the H100 only: the A100 has 40,960 MiB
    const both = await submit({ gpus: 2, gpuModels: ['H100', 'T4'] });
    const ended = async (id: string): Promise<TaskRecord> => waitForFinal(client, mixed.keys, id);
    const runs = await Promise.all([t4, a100, big, both].map(ended));
    expect(runs.map((r) => [r.status, r.tracker, r.gpuIds])).toEqual([
      ['succeeded', 'h100-t4', [1]],
      ['succeeded', 'a100', [0]],
      ['succeeded', 'h100-t4', [0]],
      ['succeeded', 'h100-t4', [0, 1]],
    ]);
    expect(runs[0]?.gpuRequest).toEqual({ models: ['T4'], minMemoryMiB: null, shareMiB: null });
    expect(runs[2]?.gpuRequest).toEqual({ models: [], minMemoryMiB: 50_000, shareMiB: null });
  });

  it('ends a request no live tracker satisfies after the grace, unless it may wait for capacity', async () => {
    const prefix = uniquePrefix();
    const tracker = await trackerWith(prefix, 'h100', [fakeGpu('H100', 0)], {
      GPUFLEET_UNSCHEDULABLE_MS: '300',
    });
    const client = redis.server.client();
    const submit = async (spec: Record<string, unknown>): Promise<string> =>
      (await enqueue({ redis: client, prefix }, { executer: 'probe', ...spec })).id;
    const v100 = await submit({ gpuModels: ['V100'] });
    const waiting = await submit({ gpuModels: ['V100'], waitForCapacity: true });
    const dead = await waitForFinal(client, tracker.keys, v100);
    expect(dead).toMatchObject({ status: 'dead', errorCode: 'UNSCHEDULABLE' });
    expect(dead.error).toMatch(
      /gpuModels asks for 1 GPU\(s\) of model v100, but no live tracker .* 1 × NVIDIA H100/,
    );
    // Two more checks later, the one that may wait still does, marked unschedulable.
    for (let i = 0; i < 2; i++) await nextEvent(tracker, 'unschedulable-checked');
    expect((await getTask(client, tracker.keys, waiting))?.status).toBe('queued');
    expect(await client.exists(tracker.keys.unschedulableSince('1~v100~'))).toBe(1);
  });
});
