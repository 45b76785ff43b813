// Every key the Lua scripts touch is built in src/keys.ts: the scripts spell no key fragment, the
// key templates they fill in for a task id or tracker name they find themselves give the keys
// keys.ts builds, and the scripts whose keys come from the caller (retry backoff, dead letters,
// a previous life's entries, a running task's cancel) write to exactly those keys.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cancelTask,
  deadLetterQueued,
  enqueue,
  getTask,
  KEY_SLOT,
  keyTemplate,
  promoteDelayed,
  queueKeys,
  releaseTask,
  settleEntry,
  takeTask,
  TRACKER_GROUP,
  type Claim,
  type QueueKeys,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();
const LUA_DIR = new URL('../lua/', import.meta.url);

function lua(name: string): string {
  return readFileSync(new URL(name, LUA_DIR), 'utf8');
}

async function take(
  client: ReturnType<typeof redis.server.client>,
  keys: QueueKeys,
  consumer: string,
): Promise<Claim> {
  const result = await takeTask(client, keys, {
    consumer,
    sizes: [{ gpus: 0, fitsNow: true }],
    leaseMs: 60_000,
    token: `token-${consumer}`,
    now: Date.now(),
    idle: true,
  });
  if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${result.kind}`);
  return result.claim;
}

describe('the keys of the Lua scripts', () => {
  it('are spelled by no script', () => {
    const scripts = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));
    expect(scripts.length).toBeGreaterThan(10);
    for (const file of scripts) {
      const code = lua(file)
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('--'))
        .join('\n');
      // A string that starts or ends with ':' joined to something (or cut off): a key built here.
      expect(code, file).not.toMatch(/'[^'\n]*:'\s*\.\.|\.\.\s*':[^'\n]*'|#\s*':/);
    }
  });

  it('come from the templates of keys.ts where a script finds the id itself', async () => {
    const keys = queueKeys('gf', 'q.1');
    const fill = lua('lib-common.lua') + '\nreturn keyOf(ARGV[1], ARGV[2])';
    const client = redis.server.client();
    const id = '01J0000000000000000000000X';
    expect(keyTemplate(keys.task)).toBe(`gf:{q.1}:task:${KEY_SLOT}`);
    expect(await client.eval(fill, 0, keyTemplate(keys.task), id)).toBe(keys.task(id));
    expect(await client.eval(fill, 0, keyTemplate(keys.lease), id)).toBe(keys.lease(id));
    expect(await client.eval(fill, 0, keyTemplate(keys.trackerControl), 'gpu-1')).toBe(
      keys.trackerControl('gpu-1'),
    );
    // The id goes in the last slot, whatever an unchecked prefix holds.
    const odd = queueKeys('g*f', 'q');
    expect(await client.eval(fill, 0, keyTemplate(odd.lease), id)).toBe(odd.lease(id));
  });

  it('queue a retry in the delayed set and back in its stream after the backoff', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const claim = await take(client, keys, 'a');
    const now = Date.now();
    const released = await releaseTask(client, keys, claim, now, {
      reason: 'retry',
      attempt: 'free',
      delayMs: 5000,
    });
    expect(released).toBe(true);
    expect(await client.zscore(keys.delayed, id)).toBe(String(now + 5000));
    expect(await client.exists(keys.lease(id))).toBe(0);
    expect(await client.xlen(keys.tasks(0))).toBe(0);
    expect(await promoteDelayed(client, keys, now + 4999)).toBe(0);
    expect(await promoteDelayed(client, keys, now + 5000)).toBe(1);
    expect(await client.zcard(keys.delayed)).toBe(0);
    const [entry] = await client.xrange(keys.tasks(0), '-', '+');
    expect(entry?.[1]).toEqual(['id', id]);
    expect(await client.get(keys.lastEntry)).toBe(entry?.[0]);
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'queued', notBefore: null });
  });

  it('dead-letter a waiting task into the dead-letter stream, with its event', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const entryId = (await client.hget(keys.task(id), 'entry')) ?? '';
    expect(await deadLetterQueued(client, keys, id, '0-1', 'too big', Date.now(), 'UNSCHEDULABLE')).toBe(
      false,
    );
    expect(await deadLetterQueued(client, keys, id, entryId, 'too big', Date.now(), 'UNSCHEDULABLE')).toBe(
      true,
    );
    expect(await getTask(client, keys, id)).toMatchObject({
      status: 'dead',
      error: 'too big',
      errorCode: 'UNSCHEDULABLE',
    });
    const [dead] = await client.xrange(keys.dead, '-', '+');
    expect(dead?.[1].slice(0, 4)).toEqual(['id', id, 'reason', 'too big']);
    const events = (await client.xrange(keys.events, '-', '+')).map(([, f]) => f[3]);
    expect(events).toEqual(['queued', 'dead']);
    expect(await client.xlen(keys.tasks(0))).toBe(0);
  });

  it('settle a previous life’s running task first in line, and tell a running task’s tracker to cancel it', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    await client.xgroup('CREATE', keys.requeued(0), TRACKER_GROUP, '0', 'MKSTREAM');
    const first = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const second = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const lost = await take(client, keys, 'a');
    const running = await take(client, keys, 'b');
    expect([lost.taskId, running.taskId]).toEqual([first.id, second.id]);

    const settled = await settleEntry(client, keys, {
      stream: lost.stream,
      entryId: lost.entryId,
      taskId: lost.taskId,
      consumer: 'a',
      now: Date.now(),
      alone: false,
    });
    expect(settled).toBe('requeued');
    expect(await client.exists(keys.lease(first.id))).toBe(0);
    const [requeued] = await client.xrange(keys.requeued(0), '-', '+');
    expect(requeued?.[1]).toEqual(['id', first.id]);
    expect(await client.get(keys.lastEntry)).toBe(requeued?.[0]);
    expect(await getTask(client, keys, first.id)).toMatchObject({ status: 'queued', attempt: 1 });

    expect(await cancelTask(client, keys, second.id, Date.now())).toEqual({
      kind: 'signalled',
      tracker: 'b',
    });
    const [message] = await client.xrange(keys.trackerControl('b'), '-', '+');
    expect(message?.[1]).toEqual(['cmd', 'cancel', 'id', second.id, 'attempt', '1']);
  });
});
