// The task status table has one definition (src/task-status.ts); the Lua scripts get it generated
// at load (lib-common.lua `-- @generated task-statuses`) and every status write in them goes
// through writeStatus, which refuses a transition the table does not allow. Here: for every pair
// of statuses, Lua's canTransition (run in a real Redis) and TypeScript's agree; and a real
// script refuses an illegal write and writes nothing.
import { describe, expect, it } from 'vitest';
import {
  canTransition,
  completeTask,
  enqueue,
  FINAL_STATUSES,
  getTask,
  luaLib,
  setTaskStatus,
  takeTask,
  TASK_STATUSES,
  type Claim,
  type TaskStatus,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();

describe('the task status table', () => {
  it('answers the same in Lua and in TypeScript, for every pair of statuses', async () => {
    const client = redis.server.client();
    const froms: Array<TaskStatus | null> = [null, ...TASK_STATUSES];
    const pairs = froms.flatMap((from) => TASK_STATUSES.map((to) => [from, to] as const));
    // ARGV: from ('' = no record yet), to, from, to, ...
    const check = `${luaLib('lib-common')}
local out = {}
for i = 1, #ARGV, 2 do
  local from = ARGV[i] ~= '' and ARGV[i] or false
  out[#out + 1] = canTransition(from, ARGV[i + 1]) and 1 or 0
end
return out`;
    const lua = (await client.eval(check, 0, ...pairs.flatMap(([from, to]) => [from ?? '', to]))) as number[];
    const ts = pairs.map(([from, to]) => (canTransition(from, to) ? 1 : 0));
    expect(lua).toEqual(ts);
    // Not agreeing on nothing: a task is created queued, runs and ends; a final status is final.
    expect(ts.filter((legal) => legal === 1).length).toBeGreaterThan(10);
    expect(canTransition(null, 'queued') && canTransition('running', 'succeeded')).toBe(true);
    expect(canTransition('succeeded', 'running') || canTransition(null, 'running')).toBe(false);
    const finals = (await client.eval(
      `${luaLib('lib-common')}\nlocal out = {} for i, s in ipairs(ARGV) do out[i] = FINAL[s] and 1 or 0 end return out`,
      0,
      ...TASK_STATUSES,
    )) as number[];
    expect(finals).toEqual(TASK_STATUSES.map((s) => (FINAL_STATUSES.includes(s) ? 1 : 0)));
  });

  it('is enforced by the scripts: an illegal write is refused, and nothing is written', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const taken = await takeTask(client, keys, {
      consumer: 'a',
      sizes: [{ gpus: 0, fitsNow: true }],
      leaseMs: 60_000,
      token: 'token-a',
      now: Date.now(),
      idle: true,
    });
    if (taken.kind !== 'claimed') throw new Error(`expected a claim, got ${taken.kind}`);
    const claim: Claim = taken.claim;
    // The attempt's token is still the task's, but the task is back in `queued`: queued → succeeded
    // is no transition of the table.
    await client.hset(keys.task(id), 'status', 'queued');
    const before = {
      task: await client.hgetall(keys.task(id)),
      events: await client.xlen(keys.events),
      entries: await client.xlen(keys.tasks(0)),
      lease: await client.get(keys.lease(id)),
    };
    await expect(completeTask(client, keys, claim, 'succeeded', Date.now(), '')).rejects.toThrow(
      /ILLEGAL_TRANSITION task status queued -> succeeded/,
    );
    await expect(setTaskStatus(client, keys, claim, 'bogus' as TaskStatus, Date.now())).rejects.toThrow(
      /ILLEGAL_TRANSITION task status queued -> bogus/,
    );
    expect({
      task: await client.hgetall(keys.task(id)),
      events: await client.xlen(keys.events),
      entries: await client.xlen(keys.tasks(0)),
      lease: await client.get(keys.lease(id)),
    }).toEqual(before);
    // The same write from `running` is legal.
    await client.hset(keys.task(id), 'status', 'running');
    expect(await completeTask(client, keys, claim, 'succeeded', Date.now(), '')).toBe(true);
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'succeeded' });
  });
});
