// preempt.lua against a real Redis: a tracker may stop only its own running attempts (by their
// lease tokens) of tasks submitted preemptible and of lower priority than the first task in line,
// which must still wait and not be a suspect; two trackers never preempt for the same task while a
// preemption lasts; the preemption takes the task's reservation until the grace ends, marks each
// victim and appends a `preempted` entry without a status to the events stream.
import { describe, expect, it } from 'vitest';
import {
  enqueue,
  getTask,
  preemptFor,
  PREEMPTION_MARGIN_MS,
  takeTask,
  TRACKER_GROUP,
  type Claim,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();

async function preemptQueue() {
  const queue = await noopQueue(redis.server);
  const { client, keys, prefix } = queue;
  await client.xgroup('CREATE', keys.requeued(0), TRACKER_GROUP, '0', 'MKSTREAM');
  const submit = async (priority: number, preemptible?: boolean): Promise<string> =>
    (await enqueue({ redis: client, prefix }, { executer: 'noop', priority, preemptible })).id;
  /** Tracker `consumer` takes the first task in line (it fits a CPU slot). */
  const take = async (consumer: string): Promise<Claim> => {
    const result = await takeTask(client, keys, {
      consumer,
      sizes: [{ gpus: 0, fitsNow: true }],
      leaseMs: 60_000,
      token: `${consumer}-${Math.random()}`,
      now: Date.now(),
      idle: false,
    });
    if (result.kind !== 'claimed') throw new Error(`nothing claimed: ${result.kind}`);
    return result.claim;
  };
  const preempt = (consumer: string, taskId: string, victims: Claim[], now = Date.now()) =>
    preemptFor(client, keys, {
      consumer,
      taskId,
      victims: victims.map((v) => ({ taskId: v.taskId, token: v.token })),
      graceMs: 5000,
      now,
    });
  return { ...queue, submit, take, preempt };
}

describe('preempt.lua', () => {
  it('records a preemption of lower-priority preemptible tasks, once per first task', async () => {
    const { client, keys, submit, take, preempt } = await preemptQueue();
    await submit(300, true);
    await submit(300, true);
    const victimA = await take('a');
    const victimB = await take('b');
    await client.set(keys.trackerAlive('a'), 'alive');
    const urgent = await submit(800);
    const now = Date.now();
    expect(await preempt('a', urgent, [victimA], now)).toEqual({ kind: 'preempted' });
    // b would stop its own task for the same one: refused while a's preemption lasts.
    expect(await preempt('b', urgent, [victimB])).toEqual({ kind: 'busy', tracker: 'a' });
    const recorded = await getTask(client, keys, victimA.taskId);
    expect(recorded).toMatchObject({ status: 'running', preemptions: 1, preemptedBy: urgent });
    expect(await getTask(client, keys, victimB.taskId)).toMatchObject({ preemptions: 0, preemptedBy: null });
    expect(await client.hgetall(keys.reservation)).toEqual({
      task: urgent,
      tracker: 'a',
      at: String(now + 5000),
      gpus: '0',
    });
    expect(await client.hget(keys.preemptions, urgent)).toBe(`a,${now + 5000 + PREEMPTION_MARGIN_MS}`);
    const [last] = await client.xrevrange(keys.events, '+', '-', 'COUNT', 1);
    expect(last?.[1]).toEqual([
      'id',
      victimA.taskId,
      'change',
      'preempted',
      'by',
      urgent,
      'tracker',
      'a',
      'at',
      String(now),
    ]);
    // Once a is dead, its preemption holds nothing: b's replaces it.
    await client.del(keys.trackerAlive('a'));
    expect(await preempt('b', urgent, [victimB])).toEqual({ kind: 'preempted' });
    await client.hdel(keys.preemptions, urgent);
    await client.set(keys.trackerAlive('a'), 'alive');
    expect(await preempt('a', urgent, [victimA], now)).toEqual({ kind: 'preempted' });
    // Once it is over, another tracker may preempt for that task, and the old record goes.
    const later = now + 5000 + PREEMPTION_MARGIN_MS + 1;
    expect(await preempt('b', urgent, [victimB], later)).toEqual({ kind: 'preempted' });
    expect(await client.hget(keys.preemptions, urgent)).toBe(`b,${later + 5000 + PREEMPTION_MARGIN_MS}`);
  });

  it('refuses a victim that is not preemptible, not of lower priority, or not this attempt', async () => {
    const { client, keys, submit, take, preempt } = await preemptQueue();
    await submit(300, false);
    const fixed = await take('a');
    await submit(800, true);
    const equal = await take('a');
    await submit(300, true);
    const stale = await take('a');
    const urgent = await submit(800);
    expect(await preempt('a', urgent, [fixed])).toEqual({
      kind: 'refused',
      taskId: fixed.taskId,
      reason: 'it was not submitted preemptible',
    });
    expect(await preempt('a', urgent, [equal])).toEqual({
      kind: 'refused',
      taskId: equal.taskId,
      reason: 'its priority is not lower than 800',
    });
    expect(await preempt('a', urgent, [{ ...stale, token: 'another-attempt' }])).toMatchObject({
      kind: 'refused',
      reason: 'it is not running on this attempt',
    });
    // Nothing was written by the refusals.
    expect(await client.exists(keys.preemptions, keys.reservation)).toBe(0);
    expect((await getTask(client, keys, stale.taskId))?.preemptions).toBe(0);
  });

  it('refuses when the first task no longer waits, or is a suspect', async () => {
    const { client, keys, submit, take, preempt } = await preemptQueue();
    await submit(300, true);
    const victim = await take('a');
    const urgent = await submit(800);
    await client.hset(keys.task(urgent), 'suspect', '1');
    expect(await preempt('a', urgent, [victim])).toEqual({ kind: 'not-waiting', status: 'suspect' });
    await client.hset(keys.task(urgent), 'suspect', '');
    const taken = await take('b');
    expect(taken.taskId).toBe(urgent);
    expect(await preempt('a', urgent, [victim])).toEqual({ kind: 'not-waiting', status: 'running' });
    expect(await client.exists(keys.preemptions)).toBe(0);
  });
});
