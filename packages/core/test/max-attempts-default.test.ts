// maxAttempts has one default, DEFAULT_MAX_ATTEMPTS: enqueue writes it, the record reads it for a
// task hash without the field, and the claim in lua/lib-claim.lua counts attempts against it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_ATTEMPTS, enqueue, getTask, parseTaskRecord, takeTask } from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();

describe('the default of maxAttempts', () => {
  it('is the number lib-claim.lua falls back to', () => {
    const lua = readFileSync(new URL('../lua/lib-claim.lua', import.meta.url), 'utf8');
    const declared = /^local DEFAULT_MAX_ATTEMPTS = (\d+)$/m.exec(lua)?.[1];
    expect(Number(declared)).toBe(DEFAULT_MAX_ATTEMPTS);
    // The claim reads it, and spells no number of its own.
    expect(lua).toContain('local maxAttempts = tonumber(f[3] or DEFAULT_MAX_ATTEMPTS)');
  });

  it('is what enqueue writes and what a record without the field reads', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    expect(await client.hget(keys.task(id), 'maxAttempts')).toBe(String(DEFAULT_MAX_ATTEMPTS));
    expect(parseTaskRecord({ id: 'x', status: 'queued' })?.maxAttempts).toBe(DEFAULT_MAX_ATTEMPTS);
  });

  it('bounds the claims of a task whose record lacks the field', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const take = (id: string): ReturnType<typeof takeTask> =>
      takeTask(client, keys, {
        consumer: 'a',
        sizes: [{ gpus: 0, fitsNow: true }],
        leaseMs: 10_000,
        token: `token-${id}`,
        now: Date.now(),
        idle: true,
      });
    // One start left: claimed.
    const last = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    await client.hdel(keys.task(last.id), 'maxAttempts');
    await client.hset(keys.task(last.id), 'attempt', DEFAULT_MAX_ATTEMPTS - 1);
    expect(await take(last.id)).toMatchObject({ kind: 'claimed', claim: { attempt: DEFAULT_MAX_ATTEMPTS } });
    // None left: dead.
    const spent = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    await client.hdel(keys.task(spent.id), 'maxAttempts');
    await client.hset(keys.task(spent.id), 'attempt', DEFAULT_MAX_ATTEMPTS);
    expect(await take(spent.id)).toMatchObject({ kind: 'dead', taskId: spent.id });
    expect(await getTask(client, keys, spent.id)).toMatchObject({
      status: 'dead',
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
    });
  });
});
