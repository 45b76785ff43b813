// GPU requests (a model, a least memory per GPU): the matching rules of src/gpu-request.ts and of
// lua/lib-gpu-request.lua agree on the same cases (the Lua run in a real Redis), and take.lua
// gives a task with a request only to a tracker whose GPUs satisfy it, passing it over for the
// next task elsewhere, with its fit and shadow time worked out from the satisfying GPUs only.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  enqueue,
  gpuModelMatches,
  gpuRequestSuffix,
  gpuSatisfies,
  parseGpuRequestSuffix,
  takeTask,
  TRACKER_GROUP,
  type GpuGroup,
  type GpuRequest,
  type TakeResult,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();

const H100 = { name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559 };
const A100_40 = { name: 'NVIDIA A100-SXM4-40GB', memoryMiB: 40960 };
const RTX = { name: 'NVIDIA GeForce RTX 4090', memoryMiB: 24564 };
const A10G = { name: 'NVIDIA A10G', memoryMiB: 23028 };

describe('model patterns', () => {
  it.each([
    ['H100', H100.name, true],
    ['h100', H100.name, true],
    ['A100', A100_40.name, true],
    ['a100-sxm4', A100_40.name, true],
    ['A100 40GB', A100_40.name, false],
    ['A100*40GB', A100_40.name, true],
    ['A10', A100_40.name, false],
    ['A10', A10G.name, false],
    ['A10G', A10G.name, true],
    ['rtx 40*', RTX.name, true],
    ['rtx 30*', RTX.name, false],
    ['H*', H100.name, true],
    ['*', RTX.name, true],
    ['80GB', H100.name, true],
    ['NVIDIA', RTX.name, true],
    ['geforce 4090', RTX.name, false],
  ])('%s on %s: %s, in TypeScript and in Lua', async (pattern, name, expected) => {
    expect(gpuModelMatches(pattern, name)).toBe(expected);
    const size = `1${gpuRequestSuffix({ models: [pattern], minMemoryMiB: null })}`;
    const [fit] = await luaFit(size, [{ name, memoryMiB: null, total: 1, free: 1, freeAt: [] }], 0);
    expect(fit).toBe(expected ? 1 : -1);
  });

  it('spells a request in one suffix and reads it back', () => {
    const request = { models: ['A100', 'rtx 40*', 'H100', 'h100'], minMemoryMiB: 40960 };
    expect(gpuRequestSuffix(request)).toBe('~a100|h100|rtx_40*~40960');
    expect(parseGpuRequestSuffix('~a100|h100|rtx_40*~40960')).toEqual({
      models: ['a100', 'h100', 'rtx 40*'],
      minMemoryMiB: 40960,
    });
    expect(gpuRequestSuffix({ models: [], minMemoryMiB: null })).toBe('');
    expect(gpuRequestSuffix({ models: [], minMemoryMiB: 1000 })).toBe('~~1000');
  });
});

/** lua/lib-gpu-request.lua's requestFit in a real Redis: [fit (1, 0 or nil → -1), shadow]. */
async function luaFit(
  size: string,
  groups: readonly GpuGroup[],
  now: number,
): Promise<[number, number | null]> {
  const lib = readFileSync(new URL('../lua/lib-gpu-request.lua', import.meta.url), 'utf8');
  const { gpuGroupsArg } = await import('../src/gpu-request.js');
  const script = `${lib}
local fit, shadow = requestFit(ARGV[1], gpuGroups(ARGV[2]), tonumber(ARGV[3]))
if fit == nil then return { -1, false } end
if shadow == math.huge then shadow = false end
return { fit and 1 or 0, shadow and tostring(shadow) or false }`;
  const client = redis.server.client();
  try {
    const [fit, shadow] = (await client.eval(script, 0, size, gpuGroupsArg(groups), now)) as [
      number,
      string | null,
    ];
    return [fit, shadow === null ? null : Number(shadow)];
  } finally {
    client.disconnect();
  }
}

/** The same answer from the TypeScript rules. */
function tsFit(
  gpus: number,
  request: GpuRequest,
  groups: readonly GpuGroup[],
  now: number,
): [number, number | null] {
  const ok = groups.filter((g) => gpuSatisfies(request, g));
  const total = ok.reduce((n, g) => n + g.total, 0);
  const free = ok.reduce((n, g) => n + g.free, 0);
  if (total < gpus) return [-1, null];
  if (free >= gpus) return [1, now];
  const times = ok.flatMap((g) => g.freeAt).sort((a, b) => a - b);
  const at = times[gpus - free - 1];
  return [0, at === undefined ? null : Math.max(now, at)];
}

describe('the Lua twin', () => {
  const groups: GpuGroup[] = [
    { ...H100, total: 2, free: 1, freeAt: [5_000] },
    { ...A100_40, total: 4, free: 0, freeAt: [3_000, 9_000] },
    { ...RTX, total: 1, free: 1, freeAt: [] },
  ];
  const requests: Array<[number, GpuRequest]> = [
    [1, { models: ['H100'], minMemoryMiB: null }],
    [2, { models: ['H100'], minMemoryMiB: null }],
    [3, { models: ['H100'], minMemoryMiB: null }],
    [2, { models: ['A100', 'H100'], minMemoryMiB: null }],
    [3, { models: ['A100', 'H100'], minMemoryMiB: null }],
    [5, { models: ['a100', 'h100'], minMemoryMiB: null }],
    [1, { models: [], minMemoryMiB: 40000 }],
    [2, { models: [], minMemoryMiB: 50000 }],
    [3, { models: [], minMemoryMiB: 50000 }],
    [1, { models: ['rtx 40*'], minMemoryMiB: 24000 }],
    [1, { models: ['rtx 40*'], minMemoryMiB: 25000 }],
    [1, { models: ['A10'], minMemoryMiB: null }],
    [1, { models: ['*'], minMemoryMiB: 1 }],
  ];
  it.each(requests)('%d GPUs of %j: the same fit and shadow time', async (gpus, request) => {
    const now = 1_000;
    const size = `${gpus}${gpuRequestSuffix(request)}`;
    const expected = tsFit(gpus, request, groups, now);
    expect(await luaFit(size, groups, now)).toEqual(expected);
  });

  it('fits a share where a satisfying GPU has room for it, and never where none is big enough', async () => {
    const shared: GpuGroup[] = [
      { ...H100, total: 2, free: 0, freeAt: [], shareRoom: [20_000, 51_559] },
      { ...RTX, total: 1, free: 1, freeAt: [], shareRoom: [24_564] },
    ];
    const size = (share: number, models: string[] = []) =>
      `1${gpuRequestSuffix({ models, minMemoryMiB: null, shareMiB: share })}`;
    expect(size(30_000, ['H100'])).toBe('1~h100~~30000');
    expect(await luaFit(size(30_000), shared, 7)).toEqual([1, 7]);
    expect(await luaFit(size(60_000, ['H100']), shared, 7)).toEqual([0, null]);
    expect(await luaFit(size(24_000, ['rtx 40*']), shared, 7)).toEqual([1, 7]);
    // No RTX has 30,000 MiB at all: this tracker can never run it.
    expect(await luaFit(size(30_000, ['rtx 40*']), shared, 7)).toEqual([-1, null]);
    expect(parseGpuRequestSuffix('~h100~~30000')).toEqual({
      models: ['h100'],
      minMemoryMiB: null,
      shareMiB: 30_000,
    });
  });

  it('answers as the test expects, so that agreeing means something', () => {
    expect(tsFit(2, { models: ['H100'], minMemoryMiB: null }, groups, 1_000)).toEqual([0, 5_000]);
    expect(tsFit(3, { models: ['H100'], minMemoryMiB: null }, groups, 1_000)).toEqual([-1, null]);
    expect(tsFit(3, { models: ['A100', 'H100'], minMemoryMiB: null }, groups, 1_000)).toEqual([0, 5_000]);
    expect(tsFit(1, { models: ['A10'], minMemoryMiB: null }, groups, 1_000)).toEqual([-1, null]);
  });
});

describe('take with GPU requests', () => {
  async function requestQueue() {
    const queue = await noopQueue(redis.server);
    const { client, keys, prefix } = queue;
    for (const gpus of [1, 2]) {
      for (const stream of [keys.tasks(gpus), keys.requeued(gpus)])
        await client.xgroup('CREATE', stream, TRACKER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    }
    const submit = async (gpus: number, extra: Record<string, unknown> = {}): Promise<string> =>
      (await enqueue({ redis: client, prefix }, { executer: 'noop', gpus, timeLimitMs: 60_000, ...extra }))
        .id;
    const take = (consumer: string, groups: GpuGroup[] | undefined, fits = true): Promise<TakeResult> =>
      takeTask(client, keys, {
        consumer,
        sizes: [1, 2].map((gpus) => ({ gpus, fitsNow: fits, shadowMs: null })),
        leaseMs: 60_000,
        token: `${consumer}-${Math.random()}`,
        now: Date.now(),
        idle: false,
        ...(groups && { gpuGroups: groups }),
      });
    const takenId = (r: TakeResult): string | null => (r.kind === 'claimed' ? r.claim.taskId : null);
    return { ...queue, submit, take, takenId };
  }

  it('passes over a task whose request a tracker cannot satisfy, and gives it to one that can', async () => {
    const { submit, take, takenId, client, keys } = await requestQueue();
    const h100 = await submit(1, { gpuModels: ['H100'] });
    const plain = await submit(1);
    expect(await client.hget(keys.task(h100), 'waitSet')).toBe('1~h100~:500:w:default');
    const a100s = [{ ...A100_40, total: 2, free: 2, freeAt: [] }];
    // The A100 tracker does not look at the H100 task: it takes the next one.
    expect(takenId(await take('a100', a100s))).toBe(plain);
    expect(await take('a100', a100s)).toMatchObject({ kind: 'empty' });
    // A tracker that did not describe its GPUs takes no task with a request.
    expect(await take('bare', undefined)).toMatchObject({ kind: 'empty' });
    const h100s = [{ ...H100, total: 2, free: 2, freeAt: [] }];
    expect(takenId(await take('h100', h100s))).toBe(h100);
  });

  it('counts only the satisfying GPUs: free ones for the fit, busy ones for the shadow time', async () => {
    const { submit, take, takenId, client, keys } = await requestQueue();
    const big = await submit(2, { minGpuMemoryMiB: 50_000 });
    await submit(1);
    const now = Date.now();
    // Two GPUs free, but only one of them an H100: the 2-GPU task of ≥ 50,000 MiB does not fit. It
    // is reserved this tracker at the time its busy H100 frees (the RTX's memory is too small), and
    // the 1-GPU task, whose time limit outlasts that, does not start on the holder.
    const mixed = [
      { ...H100, total: 2, free: 1, freeAt: [now + 30_000] },
      { ...RTX, total: 1, free: 1, freeAt: [] },
    ];
    const first = await take('mixed', mixed, true);
    expect(first).toMatchObject({ kind: 'wait', taskId: big });
    expect(await client.hgetall(keys.reservation)).toMatchObject({ task: big, tracker: 'mixed', gpus: '2' });
    expect(Number(await client.hget(keys.reservation, 'at'))).toBe(now + 30_000);
    // Once both H100s are free, it is taken.
    expect(takenId(await take('mixed', [{ ...H100, total: 2, free: 2, freeAt: [] }]))).toBe(big);
  });

  it('refuses a model or memory request of a task that asks for no GPU, naming the field', async () => {
    const { submit } = await requestQueue();
    await expect(submit(0, { gpuModels: ['H100'] })).rejects.toMatchObject({
      issues: [{ field: 'gpuModels', reason: expect.stringMatching(/no GPU/) }],
    });
    await expect(submit(0, { minGpuMemoryMiB: 1000 })).rejects.toMatchObject({
      issues: [{ field: 'minGpuMemoryMiB' }],
    });
    await expect(submit(1, { gpuModels: ['H100;rm'] })).rejects.toMatchObject({
      issues: [{ field: 'gpuModels[0]' }],
    });
  });
});
