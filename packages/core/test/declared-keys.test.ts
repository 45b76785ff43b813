// Every key a Lua script touches is declared in its KEYS, except the documented keys.ts template
// exceptions (take finds a task id in a wait set inside the script, and fills the task hash and
// lease key templates for it; every script derives a wait set's key, and the delayed set's, from
// the declared registry). Each script runs under a key audit (helpers/key-audit.ts:
// every command's keys, as COMMAND GETKEYS names them, checked against KEYS and the allowed
// templates; preempt reads the liveness key of a preemption's holder by its template) through a run of the whole protocol that takes every path that touches a key. Every
// script that writes a status declares the tenant accounts too (writeStatus keeps them): a status
// write without them is refused before anything is written.
import { describe, expect, it } from 'vitest';
import {
  cancelTask,
  completeTask,
  deadLetterQueued,
  enqueue,
  forgetTasks,
  getTask,
  indexWaiting,
  keyTemplate,
  preemptFor,
  luaLib,
  promoteDelayed,
  releaseTask,
  renewLease,
  requeueOrphan,
  SCRIPT_NAMES,
  setServiceState,
  setTaskStatus,
  settleEntry,
  setTaskPriority,
  takeTask,
  snapshotTenantAccounts,
  TRACKER_GROUP,
  type Claim,
  type QueueKeys,
  type ScriptName,
  type TakeResult,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { auditPrelude, auditScripts } from './helpers/key-audit.js';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();

/** The scripts allowed the template exception, and the templates each may fill. */
function exceptions(keys: QueueKeys): (name: ScriptName) => string[] {
  const templates = [keyTemplate(keys.task), keyTemplate(keys.lease)];
  const derived = [keyTemplate(keys.waitSet), keys.delayed];
  const alive = keyTemplate(keys.trackerAlive);
  return (name) => (name === 'take' ? [...templates, ...derived] : name === 'preempt' ? [alive] : derived);
}

async function audited(allowTemplates = true) {
  const queue = await noopQueue(redis.server);
  const { client, keys } = queue;
  await client.xgroup('CREATE', keys.requeued(0), TRACKER_GROUP, '0', 'MKSTREAM');
  const allowed = exceptions(keys);
  // Without take's exception, every script keeps the wait sets' and the delayed set's.
  const ran = auditScripts(
    client,
    allowTemplates ? allowed : () => [keyTemplate(keys.waitSet), keys.delayed],
  );
  const sizes = [{ gpus: 0, fitsNow: true }];
  const take = (consumer: string, token: string, leaseMs = 60_000): Promise<TakeResult> =>
    takeTask(client, keys, { consumer, sizes, leaseMs, token, now: Date.now(), idle: true });
  const claimed = async (consumer: string, token: string, leaseMs = 60_000): Promise<Claim> => {
    const result = await take(consumer, token, leaseMs);
    if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${result.kind}`);
    return result.claim;
  };
  const submit = async (spec: Record<string, unknown> = {}): Promise<string> =>
    (await enqueue({ redis: client, prefix: queue.prefix }, { executer: 'noop', ...spec })).id;
  return { ...queue, ran, take, claimed, submit };
}

describe('the keys a Lua script touches', () => {
  it('are declared in KEYS, but for the template exceptions of take and of the wait sets', async () => {
    const { client, keys, ran, take, claimed, submit } = await audited();
    const now = Date.now;

    // enqueue (with an idempotency key), take, renew, set-status, complete.
    const a = await submit({ idempotencyKey: 'once' });
    const claimA = await claimed('a', 'ta');
    expect(await renewLease(client, keys, claimA, 'a', 60_000)).toBe('renewed');
    const endpoints = { control: 'host-a:20001' };
    expect(
      await setServiceState(client, keys, claimA, now(), { state: 'ready', endpoints, restarts: 0 }),
    ).toBe(true);
    expect((await getTask(client, keys, a))?.service).toMatchObject({ state: 'ready', endpoints });
    expect(await setTaskStatus(client, keys, claimA, 'uploading', now())).toBe(true);
    // Leaving `running` withdraws the endpoints (lib-common writeStatus).
    expect((await getTask(client, keys, a))?.service).toBeNull();
    expect(await completeTask(client, keys, claimA, 'succeeded', now(), '')).toBe(true);
    expect(await getTask(client, keys, a)).toMatchObject({ status: 'succeeded' });

    // release after a backoff, promote, release first in line (undo), take from the requeued stream.
    const b = await submit();
    const t0 = now();
    expect(
      await releaseTask(client, keys, await claimed('a', 'tb1'), t0, {
        reason: 'r',
        attempt: 'free',
        delayMs: 10,
      }),
    ).toBe(true);
    expect(await promoteDelayed(client, keys, t0 + 10)).toBe(1);
    const claimB = await claimed('a', 'tb2');
    expect(
      await releaseTask(client, keys, claimB, now(), { reason: 'r', attempt: 'undo', first: true }),
    ).toBe(true);
    const claimB2 = await claimed('a', 'tb3');
    expect(claimB2).toMatchObject({ taskId: b, stream: keys.requeued(0) });

    // cancel a running task (its tracker's control stream), a queued one, a final one; a dead end.
    expect(await cancelTask(client, keys, b, now())).toEqual({ kind: 'signalled', tracker: 'a' });
    expect(await completeTask(client, keys, claimB2, 'dead', now(), 'given up')).toBe(true);
    expect(await cancelTask(client, keys, b, now())).toEqual({ kind: 'final', status: 'dead' });
    const c = await submit();
    expect(await cancelTask(client, keys, c, now())).toEqual({ kind: 'cancelled' });

    // a task submitted after c (ended): no wait; after l (queued): held until l's cancel releases it.
    const afterC = await submit({ after: c });
    expect(await client.zscore(keys.delayed, afterC)).toBeNull();
    expect(await cancelTask(client, keys, afterC, now())).toEqual({ kind: 'cancelled' });
    const l = await submit();
    const afterL = await submit({ after: l });
    expect(await cancelTask(client, keys, l, now())).toEqual({ kind: 'cancelled' });
    expect(await promoteDelayed(client, keys, now())).toBe(1);
    expect(await cancelTask(client, keys, afterL, now())).toEqual({ kind: 'cancelled' });

    // dead-letter a waiting task.
    const d = await submit();
    const entryD = (await client.hget(keys.task(d), 'entry')) ?? '';
    expect(await deadLetterQueued(client, keys, d, entryD, 'too big', now(), 'UNSCHEDULABLE')).toBe(true);

    // orphan: requeue a dead tracker's task; settle it for a previous life; a claim that finds a
    // cancel requested meanwhile; a claim that finds the attempts used up.
    const e = await submit({ maxAttempts: 2 });
    const claimE = await claimed('a', 'te1');
    const orphanE = { stream: claimE.stream, entryId: claimE.entryId, taskId: e, holder: 'a', minIdleMs: 0 };
    expect(
      await requeueOrphan(client, keys, {
        ...orphanE,
        holderDead: true,
        alone: false,
        reason: 'died',
        now: now(),
      }),
    ).toBe('requeued');
    const claimE2 = await claimed('b', 'te2');
    expect(
      await settleEntry(client, keys, {
        stream: claimE2.stream,
        entryId: claimE2.entryId,
        taskId: e,
        consumer: 'b',
        now: now(),
        alone: false,
      }),
    ).toBe('requeued');
    expect(await take('c', 'te3')).toMatchObject({ kind: 'dead', taskId: e });
    const f = await submit();
    const claimF = await claimed('a', 'tf');
    expect(await cancelTask(client, keys, f, now())).toMatchObject({ kind: 'signalled' });
    const orphanF = { stream: claimF.stream, entryId: claimF.entryId, taskId: f, holder: 'a', minIdleMs: 0 };
    expect(
      await requeueOrphan(client, keys, {
        ...orphanF,
        holderDead: true,
        alone: true,
        reason: 'died',
        now: now(),
      }),
    ).toBe('requeued');
    expect(await take('a', 'tf2')).toMatchObject({ kind: 'empty' });
    expect(await getTask(client, keys, f)).toMatchObject({ status: 'cancelled' });

    // orphan and settle of entries delivered but never claimed, and of ended tasks.
    const g = await submit();
    const entryG = (await client.hget(keys.task(g), 'entry')) ?? '';
    await client.xclaim(keys.tasks(0), TRACKER_GROUP, 'c', 0, entryG, 'FORCE', 'JUSTID');
    const orphanG = { stream: keys.tasks(0), entryId: entryG, taskId: g, holder: 'c', minIdleMs: 0 };
    expect(
      await requeueOrphan(client, keys, {
        ...orphanG,
        holderDead: false,
        alone: false,
        reason: '',
        now: now(),
      }),
    ).toBe('returned');
    const claimG = await claimed('c', 'tg');
    expect(await completeTask(client, keys, claimG, 'failed', now(), 'no')).toBe(true);
    const stale = (await client.xadd(claimG.stream, '*', 'id', g)) ?? ''; // a stale entry of an ended task
    await client.xclaim(claimG.stream, TRACKER_GROUP, 'c', 0, stale, 'FORCE', 'JUSTID');
    expect(
      await settleEntry(client, keys, {
        stream: claimG.stream,
        entryId: stale,
        taskId: g,
        consumer: 'c',
        now: now(),
        alone: false,
      }),
    ).toBe('removed');
    const h = await submit();
    const entryH = (await client.hget(keys.task(h), 'entry')) ?? '';
    await client.xclaim(keys.tasks(0), TRACKER_GROUP, 'd', 0, entryH, 'FORCE', 'JUSTID');
    expect(
      await settleEntry(client, keys, {
        stream: keys.tasks(0),
        entryId: entryH,
        taskId: h,
        consumer: 'd',
        now: now(),
        alone: false,
      }),
    ).toBe('requeued');

    // take h again; change the priority of a waiting task, then take it.
    expect(await claimed('a', 'th')).toMatchObject({ taskId: h });
    const i = await submit();
    expect(await setTaskPriority(client, keys, i, 900, now())).toEqual({
      kind: 'changed',
      from: 500,
      to: 900,
    });
    expect(await claimed('e', 'ti')).toMatchObject({ taskId: i });
    // index what waits in no wait set (nothing here: every task is indexed or running).
    expect(await indexWaiting(client, keys, keys.tasks(0), now())).toBe(0);
    // preempt: j (preemptible, of priority 300) runs, k (800) waits and j is stopped for it.
    const j = await submit({ priority: 300, preemptible: true });
    const claimJ = await claimed('f', 'tj');
    const k = await submit({ priority: 800 });
    const victims = [{ taskId: j, token: claimJ.token }];
    expect(
      await preemptFor(client, keys, { consumer: 'f', taskId: k, victims, graceMs: 1000, now: now() }),
    ).toEqual({ kind: 'preempted' });
    // Its holder f has no liveness key (no such tracker runs): g's preemption for k replaces it.
    expect(
      await preemptFor(client, keys, { consumer: 'g', taskId: k, victims: [], graceMs: 1000, now: now() }),
    ).toEqual({ kind: 'preempted' });
    expect(await client.hget(keys.preemptions, k)).toMatch(/^g,/);
    // forget: f (cancelled) leaves Redis, as the retention sweep removes it once archived.
    const fEnded = (await client.hget(keys.task(f), 'endedAt')) ?? '';
    expect(await forgetTasks(client, keys, [{ id: f, endedAt: fEnded }], now())).toBe(1);

    expect([...ran].sort()).toEqual([...SCRIPT_NAMES].sort());
    // The status writes kept the declared tenant accounts: h, i and j run now, k waits.
    const { stored, recounted } = await snapshotTenantAccounts(client, keys, [
      a,
      b,
      c,
      d,
      e,
      f,
      g,
      h,
      i,
      j,
      k,
    ]);
    expect(stored).toEqual({ default: { waiting: 1, runningTasks: 3, runningGpus: 0 } });
    expect(recounted).toEqual(stored);
  });

  it('include the scheduling keys wherever a status is written', async () => {
    const client = redis.server.client();
    const write = (q: string) =>
      client.eval(
        `${luaLib('lib-common')}\nwriteStatus(${q}, KEYS[1], false, 'queued', {})\nreturn 1`,
        8,
        'task',
        'w',
        'r',
        'g',
        'u',
        's',
        'ws',
        'wt',
      );
    await expect(write('{ events = KEYS[2] }')).rejects.toThrow(
      /UNDECLARED_KEY a status write needs the scheduling keys in KEYS/,
    );
    await expect(
      write('{ tenantWaiting = KEYS[2], tenantRunning = KEYS[3], tenantGpus = KEYS[4] }'),
    ).rejects.toThrow(/UNDECLARED_KEY/);
    expect(await client.exists('task')).toBe(0);
    expect(await write('schedulingQ({}, 2)')).toBe(1);
    expect(await client.hgetall('w')).toEqual({ default: '1' });
  });

  it('fails the audit when a script touches a key it did not declare', async () => {
    const client = redis.server.client();
    const prelude = auditPrelude([]);
    await client.set('declared', '1');
    expect(await client.eval(`${prelude}return redis.call('GET', KEYS[1])`, 1, 'declared')).toBe('1');
    await expect(
      client.eval(`${prelude}return redis.call('GET', KEYS[1] .. 'x')`, 1, 'declared'),
    ).rejects.toThrow(/UNDECLARED_KEY_AUDIT GET touches declaredx/);
    // take fills templates: without its exception, the audit refuses it.
    const { take, submit } = await audited(false);
    await submit();
    await expect(take('a', 'ta')).rejects.toThrow(/UNDECLARED_KEY_AUDIT .* touches .*:task:/);
  });
});
