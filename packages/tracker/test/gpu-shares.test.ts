// Sharing a GPU by memory on a real tracker with two fake H100s (81,559 MiB each): tasks that ask
// for a 30,000 MiB share take a GPU each while one is free, then double up on the least-loaded
// GPU while the shares fit its memory; a fifth waits for room; a task that wants a whole GPU waits
// until a GPU has no share left. Refused at submission: a share of more than one GPU.
import { describe, expect, it } from 'vitest';
import { enqueue, type TaskRecord } from '@gpufleet/core';
import { fakeGpu, fakeMachine, installFakeNvidiaSmi, useRedis, useTempDirs } from '@gpufleet/testkit';
import { startFakeGpuTracker } from './helpers/fake-gpu-tracker.js';
import { useTrackers, waitForFinal } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

async function twoH100s() {
  const smi = await installFakeNvidiaSmi(
    await temp.make(),
    fakeMachine([fakeGpu('H100', 0), fakeGpu('H100', 1)]),
  );
  const { tracker, prefix } = await startFakeGpuTracker({
    redis: redis.server,
    temp,
    trackers,
    smi,
    env: { GPUFLEET_MPS: 'off' },
  });
  const client = redis.server.client();
  const submit = async (spec: Record<string, unknown>): Promise<string> =>
    (await enqueue({ redis: client, prefix }, { executer: 'probe', ...spec })).id;
  const ended = (id: string): Promise<TaskRecord> => waitForFinal(client, tracker.keys, id, 30_000);
  return { submit, ended };
}

const startOf = (r: TaskRecord): number => r.startedAt ?? Number.NaN;
/** When its process ended (its GPU share is given back then; `endedAt` comes after its outputs are stored). */
const endOf = (r: TaskRecord): number => startOf(r) + (r.durationMs ?? Number.NaN);

describe('sharing a GPU by memory', () => {
  it('spreads shares over the GPUs, then doubles up while they fit, and makes the next wait for room', async () => {
    const { submit, ended } = await twoH100s();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await submit({ gpuShareMiB: 30_000, params: { sleepMs: 1500 } }));
    const runs = await Promise.all(ids.map(ended));
    expect(runs.map((r) => r.status)).toEqual(Array(5).fill('succeeded'));
    const [a, b, c, d, e] = runs as [TaskRecord, TaskRecord, TaskRecord, TaskRecord, TaskRecord];
    // One per GPU first, then the doubling up: 0, 1, then 0 and 1 again.
    expect([a, b, c, d].map((r) => r.gpuIds)).toEqual([[0], [1], [0], [1]]);
    // The four ran together; the fifth (a third 30,000 MiB share would not fit) started when one ended.
    const firstEnd = Math.min(...[a, b, c, d].map(endOf));
    expect(Math.max(...[a, b, c, d].map(startOf))).toBeLessThan(firstEnd);
    expect(startOf(e)).toBeGreaterThanOrEqual(firstEnd);
    expect(a.gpuRequest.shareMiB).toBe(30_000);
  });

  it('gives a task that wants a whole GPU one only once its shares have ended', async () => {
    const { submit, ended } = await twoH100s();
    const shares = [
      await submit({ gpuShareMiB: 10_000, params: { sleepMs: 1200 } }),
      await submit({ gpuShareMiB: 10_000, params: { sleepMs: 1200 } }),
    ];
    const whole = await submit({ gpus: 1, params: { sleepMs: 0 } });
    const [s0, s1] = await Promise.all(shares.map(ended));
    const w = await ended(whole);
    expect([s0?.gpuIds, s1?.gpuIds]).toEqual([[0], [1]]);
    expect(startOf(w)).toBeGreaterThanOrEqual(Math.min(endOf(s0 as TaskRecord), endOf(s1 as TaskRecord)));
  });

  it('refuses a share of more than one GPU, naming the field', async () => {
    const { submit } = await twoH100s();
    await expect(submit({ gpus: 2, gpuShareMiB: 1000 })).rejects.toMatchObject({
      issues: [
        { field: 'gpuShareMiB', reason: 'a share is of one GPU, but the task asks for 2 (gpus must be 1)' },
      ],
    });
  });
});
