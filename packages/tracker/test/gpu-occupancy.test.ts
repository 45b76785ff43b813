// Foreign processes and settling GPUs on a real tracker, against a fake nvidia-smi whose compute
// processes the test adds and removes while the tracker runs: a GPU with a process the tracker did
// not start (or with memory in use above GPUFLEET_GPU_BUSY_MEMORY_MIB) gets no task and is shown
// busy, naming the process and its memory, in the registry; once the process left it is used again.
// After a task ends, its GPU waits (settling) until the task's processes have left it, and is
// drained, naming them, when they stay past GPUFLEET_GPU_SETTLE_MS.
import { describe, expect, it } from 'vitest';
import { enqueue, getTask, listTrackers, type GpuHoldInfo, type TaskRecord } from '@gpufleet/core';
import {
  fakeGpu,
  fakeMachine,
  installFakeNvidiaSmi,
  useRedis,
  useTempDirs,
  waitFor,
  type FakeComputeApp,
  type FakeGpu,
  type FakeNvidiaSmi,
} from '@gpufleet/testkit';
import { startFakeGpuTracker } from './helpers/fake-gpu-tracker.js';
import { useTrackers, waitForFinal } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

/** A tracker reading `gpus` (and their compute processes) from a fake nvidia-smi the test changes. */
async function trackerOn(gpus: FakeGpu[], apps: FakeComputeApp[], more: Record<string, string> = {}) {
  const smi = await installFakeNvidiaSmi(await temp.make(), fakeMachine(gpus, { computeApps: apps }));
  const env = { GPUFLEET_GPU_CHECK_MS: '50', GPUFLEET_HEARTBEAT_MS: '100', ...more };
  const { tracker, prefix } = await startFakeGpuTracker({ redis: redis.server, temp, trackers, smi, env });
  const client = redis.server.client();
  const submit = async (params: Record<string, unknown> = {}, gpuCount = 1): Promise<string> =>
    (await enqueue({ redis: client, prefix }, { executer: 'probe', gpus: gpuCount, params })).id;
  /** The holds the tracker last published, once `match` passes. */
  const holds = (match: (h: GpuHoldInfo[]) => boolean, message: string): Promise<GpuHoldInfo[]> =>
    waitFor(
      async () => {
        const info = (await listTrackers(client, tracker.keys)).find((t) => t.name === tracker.name);
        const found = info?.gpuHolds ?? [];
        return info && match(found) && found;
      },
      { message },
    );
  return { tracker, smi, client, submit, holds };
}

/** Waits until the fake has answered `n` more occupancy rounds than now. */
async function rounds(smi: FakeNvidiaSmi, n: number): Promise<void> {
  const count = async () =>
    (await smi.calls()).filter((c) => c[0]?.startsWith('--query-compute-apps')).length;
  const start = await count();
  await waitFor(async () => (await count()) >= start + n, { message: `${n} occupancy rounds` });
}

const GPUS = [fakeGpu('H100', 0), fakeGpu('H100', 1)];
const python = (gpu: FakeGpu, usedMemoryMiB = 3000): FakeComputeApp => ({
  pid: 4242,
  processName: 'python',
  usedMemoryMiB,
  gpuUuid: gpu.uuid,
});

describe('foreign processes', () => {
  it('skips a GPU another process uses, shows it busy with the process, and uses it once it left', async () => {
    const gpu0 = GPUS[0] as FakeGpu;
    const { smi, client, tracker, submit, holds } = await trackerOn(GPUS, [python(gpu0)]);
    const [hold] = await holds((h) => h.length === 1, 'GPU 0 shown busy');
    expect(hold).toEqual({
      index: 0,
      kind: 'busy',
      reason: 'used by a process this tracker did not start: python (pid 4242, 3000 MiB)',
      processes: [{ pid: 4242, name: 'python', memoryMiB: 3000 }],
    });
    const ran: TaskRecord[] = [];
    for (let i = 0; i < 3; i++) ran.push(await waitForFinal(client, tracker.keys, await submit()));
    expect(ran.map((r) => [r.status, r.gpuIds])).toEqual([
      ['succeeded', [1]],
      ['succeeded', [1]],
      ['succeeded', [1]],
    ]);
    // A 2-GPU task waits while the process stays, and starts once it has left.
    const both = await submit({}, 2);
    await rounds(smi, 3);
    expect((await getTask(client, tracker.keys, both))?.status).toBe('queued');
    await smi.setState(fakeMachine(GPUS, { computeApps: [] }));
    expect(await waitForFinal(client, tracker.keys, both)).toMatchObject({
      status: 'succeeded',
      gpuIds: [0, 1],
    });
    await holds((h) => h.length === 0, 'no GPU held');
  });

  it('counts a free GPU busy when more memory is in use than the threshold, though no process is listed', async () => {
    const gpus = [fakeGpu('H100', 0, { memoryUsedMiB: 5000 }), fakeGpu('H100', 1, { memoryUsedMiB: 500 })];
    const { holds } = await trackerOn(gpus, [], { GPUFLEET_GPU_BUSY_MEMORY_MIB: '1024' });
    const found = await holds((h) => h.length > 0, 'a GPU shown busy');
    expect(found).toEqual([
      {
        index: 0,
        kind: 'busy',
        reason:
          '5000 MiB in use by processes nvidia-smi does not list (more than GPUFLEET_GPU_BUSY_MEMORY_MIB, 1024)',
      },
    ]);
  });
});

describe('settling', () => {
  it('gives a task’s GPU out again only once its processes have left it', async () => {
    const gpu0 = fakeGpu('H100', 0);
    const { smi, client, tracker, submit, holds } = await trackerOn([gpu0], [], {
      GPUFLEET_GPU_SETTLE_MS: '60000',
    });
    const first = await submit({ sleepMs: 300 });
    // The task's CUDA process, as nvidia-smi lists it while it runs, and after: it stays behind.
    await smi.setState(fakeMachine([gpu0], { computeApps: [python(gpu0, 2000)] }));
    expect(await waitForFinal(client, tracker.keys, first)).toMatchObject({
      status: 'succeeded',
      gpuIds: [0],
    });
    const second = await submit();
    const [hold] = await holds((h) => h[0]?.kind === 'settling', 'GPU 0 settling');
    expect(hold?.reason).toBe(`the processes of task ${first} have not left it yet`);
    await rounds(smi, 3);
    expect((await getTask(client, tracker.keys, second))?.status).toBe('queued');
    await smi.setState(fakeMachine([gpu0], { computeApps: [] }));
    expect(await waitForFinal(client, tracker.keys, second)).toMatchObject({
      status: 'succeeded',
      gpuIds: [0],
    });
  });

  it('drains the GPU, naming what stayed, when the task’s processes stay past the settle time', async () => {
    const gpu0 = fakeGpu('H100', 0);
    const { smi, client, tracker, submit, holds } = await trackerOn([gpu0], [], {
      GPUFLEET_GPU_SETTLE_MS: '300',
    });
    const first = await submit({ sleepMs: 200 });
    await smi.setState(fakeMachine([gpu0], { computeApps: [python(gpu0, 2000)] }));
    await waitForFinal(client, tracker.keys, first);
    const second = await submit();
    const [hold] = await holds((h) => h[0]?.kind === 'drained', 'GPU 0 drained');
    expect(hold?.reason).toBe(
      `the processes of task ${first} did not leave it within 300 ms: python (pid 4242, 2000 MiB)`,
    );
    // Drained stays drained when they leave: an operator undrains it.
    await smi.setState(fakeMachine([gpu0], { computeApps: [] }));
    await rounds(smi, 3);
    expect((await getTask(client, tracker.keys, second))?.status).toBe('queued');
    expect(tracker.pool.heldGpus.get(0)?.kind).toBe('drained');
  });
});
