// Backfill in take.lua against a real Redis (EASY, time limits as estimates): the first task in
// line that does not fit is reserved the tracker whose GPUs free first for it (its shadow time);
// that tracker starts a later task only if its time limit ends it by then, any other tracker
// starts what fits; a task of the other kind (CPU behind GPU, GPU behind CPU) needs nothing the
// first in line waits for and starts on the holder too; a tracker that would free GPUs sooner takes
// the reservation over; and it lapses 3 s past its time (or past the holder's last take, its time
// unknown).
import { describe, expect, it } from 'vitest';
import { enqueue, takeTask, TRACKER_GROUP, type TakeResult } from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();

async function backfillQueue() {
  const queue = await noopQueue(redis.server);
  const { client, keys, prefix } = queue;
  for (const gpus of [0, 1, 2]) {
    for (const stream of [keys.tasks(gpus), keys.requeued(gpus)])
      await client.xgroup('CREATE', stream, TRACKER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
  }
  const submit = async (gpus: number, timeLimitMs: number): Promise<string> =>
    (await enqueue({ redis: client, prefix }, { executer: 'noop', gpus, timeLimitMs })).id;
  /**
   * A take by `consumer`, one of whose GPUs is free and whose 2-GPU shadow time is `shadowMs` (the
   * 2-GPU task never fits it); its CPU slot is free unless `cpuFree` is false (then its shadow
   * time is `shadowMs` too).
   */
  const take = (
    consumer: string,
    now: number,
    shadowMs: number | null,
    cpuFree = true,
  ): Promise<TakeResult> =>
    takeTask(client, keys, {
      consumer,
      sizes: [
        { gpus: 0, fitsNow: cpuFree, shadowMs: cpuFree ? now : shadowMs },
        { gpus: 1, fitsNow: true, shadowMs: now },
        { gpus: 2, fitsNow: false, shadowMs },
      ],
      leaseMs: 60_000,
      token: `${consumer}-${Math.random()}`,
      now,
      idle: false,
    });
  const takenId = (r: TakeResult): string | null => (r.kind === 'claimed' ? r.claim.taskId : null);
  return { ...queue, submit, take, takenId };
}

describe('backfill', () => {
  it('lets the holder start only what ends by the reservation, and any other tracker what fits', async () => {
    const { submit, take, takenId, client, keys } = await backfillQueue();
    const big = await submit(2, 60_000);
    const long = await submit(1, 60_000);
    const short = await submit(1, 5_000);
    const now = Date.now();
    // Tracker a's GPUs free in 10 s: it holds the reservation, and skips the long task for the
    // short one, which ends (by its time limit) before then.
    expect(takenId(await take('a', now, now + 10_000))).toBe(short);
    expect(await client.hgetall(keys.reservation)).toMatchObject({ task: big, tracker: 'a', gpus: '2' });
    expect(await take('a', now, now + 10_000)).toMatchObject({ kind: 'wait' });
    // Tracker b's free in 20 s: a keeps the reservation, and b starts the long task.
    expect(takenId(await take('b', now, now + 20_000))).toBe(long);
    expect(await client.hget(keys.reservation, 'tracker')).toBe('a');
  });

  it('moves the reservation to a tracker that frees GPUs sooner, and lets it lapse', async () => {
    const { submit, take, takenId, client, keys } = await backfillQueue();
    const big = await submit(2, 60_000);
    const short = await submit(1, 5_000);
    const now = Date.now();
    expect(await take('a', now, now + 60_000)).toMatchObject({ kind: 'claimed' }); // a backfills
    await submit(1, 5_000);
    // b frees its GPUs in 4 s: the reservation is b's, and b (the holder) cannot fit a 5 s task.
    expect(await take('b', now, now + 4_000)).toMatchObject({ kind: 'wait' });
    expect(await client.hgetall(keys.reservation)).toMatchObject({ task: big, tracker: 'b' });
    expect(takenId(await take('a', now, now + 60_000))).not.toBeNull();
    expect(short).toBeTruthy();
    // It lasts until 3 s past its time (b's GPUs free in 4 s), then lapses: b may have died.
    expect(await client.pttl(keys.reservation)).toBeGreaterThan(6000);
    expect(await client.pttl(keys.reservation)).toBeLessThanOrEqual(7000);
  });

  it('starts nothing on a holder that cannot tell when its GPUs free', async () => {
    const { submit, take, client, keys } = await backfillQueue();
    await submit(2, 60_000);
    await submit(1, 1_000);
    const now = Date.now();
    expect(await take('a', now, null)).toMatchObject({ kind: 'wait', waitSet: '2:500:w:default' });
    expect(await client.hget(keys.reservation, 'tracker')).toBe('a');
    // Its time unknown, it lapses 3 s after the holder's last take.
    expect(await client.pttl(keys.reservation)).toBeLessThanOrEqual(3000);
    expect(await client.pttl(keys.reservation)).toBeGreaterThan(0);
  });

  it('starts a task of the other kind on the holder whatever its time limit: it needs nothing the first in line waits for', async () => {
    const { submit, take, takenId, client, keys } = await backfillQueue();
    const big = await submit(2, 60_000);
    const cpu = await submit(0, 600_000);
    const now = Date.now();
    // The holder's GPUs free in 10 s; the CPU task runs 10 minutes on a CPU slot, no GPU.
    expect(takenId(await take('a', now, now + 10_000))).toBe(cpu);
    expect(await client.hgetall(keys.reservation)).toMatchObject({ task: big, tracker: 'a' });
    // A CPU task first in line, the CPU slot busy: a long GPU task behind it starts on the holder.
    const queued = await backfillQueue();
    const cpuFirst = await queued.submit(0, 60_000);
    const gpuLong = await queued.submit(1, 600_000);
    expect(queued.takenId(await queued.take('a', now, now + 10_000, false))).toBe(gpuLong);
    expect(await queued.client.hget(queued.keys.reservation, 'task')).toBe(cpuFirst);
    // But a long task of the same kind still waits: it would delay the first in line.
    await queued.submit(0, 600_000);
    expect(await queued.take('a', now, now + 10_000, false)).toMatchObject({ kind: 'wait' });
  });
});
