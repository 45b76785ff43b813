// The claim that rides behind a tracker's blocking read (lua/claim-read.lua), straight against
// Redis: sent on the same connection right after XREADGROUP BLOCK, it runs when the read returns
// and claims exactly what the read delivered; a read that times out claims nothing; a resend
// after a reconnect answers as the first run did; an entry another claim holds is left alone.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  claimJustRead,
  enqueue,
  getTask,
  takeTask,
  TRACKER_GROUP,
  type ClaimJustReadResult,
  type QueueKeys,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();

/** The take that finds nothing, and what it says of the stream's last-delivered id. */
async function emptyTake(client: Redis, keys: QueueKeys, consumer: string): Promise<string> {
  const result = await takeTask(client, keys, {
    consumer,
    streams: [{ key: keys.tasks(0), fitsNow: true }],
    leaseMs: 10_000,
    token: 'unused',
    now: Date.now(),
    idle: true,
  });
  if (result.kind !== 'empty') throw new Error(`expected an empty take, got ${result.kind}`);
  const after = result.lastDelivered?.[keys.tasks(0)];
  if (after === undefined) throw new Error('the empty take did not say the last-delivered id');
  return after;
}

/** A blocking read and, behind it on the same connection, the claim; neither awaited yet. */
function readAndClaim(
  connection: Redis,
  keys: QueueKeys,
  consumer: string,
  after: string,
  token: string,
  blockMs: number,
): { read: Promise<unknown>; claim: Promise<ClaimJustReadResult> } {
  const read = connection.xreadgroup(
    'GROUP',
    TRACKER_GROUP,
    consumer,
    'COUNT',
    1,
    'BLOCK',
    blockMs,
    'STREAMS',
    keys.tasks(0),
    '>',
  );
  return { read, claim: claimBehind(connection, keys, consumer, after, token) };
}

/** The claim for the 0-GPU stream, given the last-delivered id its take saw. */
function claimBehind(
  connection: Redis,
  keys: QueueKeys,
  consumer: string,
  after: string,
  token: string,
): Promise<ClaimJustReadResult> {
  return claimJustRead(connection, keys, {
    consumer,
    streams: [{ key: keys.tasks(0), after }],
    leaseMs: 10_000,
    token,
  });
}

describe('the claim behind a blocking read', () => {
  it('claims the entry the read delivers, run by Redis as soon as the read returns', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const connection = redis.server.client();
    const after = await emptyTake(client, keys, 'a');
    const { read, claim } = readAndClaim(connection, keys, 'a', after, 'token-a', 5000);
    let claimSettled = false;
    void claim.then(() => (claimSettled = true));
    await new Promise((resolve) => setTimeout(resolve, 150));
    // Queued behind the blocked read: had it run at once, it would have found nothing.
    expect(claimSettled).toBe(false);
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const delivered = (await read) as Array<[string, Array<[string, string[]]>]>;
    const entryId = delivered[0]?.[1][0]?.[0];
    const result = await claim;
    expect(result).toMatchObject({
      kind: 'claimed',
      claim: { taskId: id, attempt: 1, entryId, stream: keys.tasks(0), token: 'token-a', suspect: false },
    });
    if (result.kind !== 'claimed') return;
    expect(result.claim.record).toMatchObject({ id, status: 'running', tracker: 'a', attempt: 1 });
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'running', tracker: 'a', attempt: 1 });
    expect(await client.get(`${keys.task(id)}:lease`)).toBe('token-a');
  });

  it('claims nothing when the read times out', async () => {
    const { client, keys } = await noopQueue(redis.server);
    const connection = redis.server.client();
    const after = await emptyTake(client, keys, 'a');
    const { read, claim } = readAndClaim(connection, keys, 'a', after, 'token-a', 100);
    expect(await read).toBeNull();
    expect(await claim).toEqual({ kind: 'none' });
  });

  it('answers a resend as the first run did, and leaves an entry whose task another claim holds', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const connection = redis.server.client();
    const after = await emptyTake(client, keys, 'a');
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const { read, claim } = readAndClaim(connection, keys, 'a', after, 'token-a', 1000);
    await read;
    expect(await claim).toMatchObject({ kind: 'claimed', claim: { taskId: id, attempt: 1 } });
    // The same command again (what a client resends after a reconnect): the same claim, attempt 1.
    const again = await claimBehind(client, keys, 'a', after, 'token-a');
    expect(again).toMatchObject({ kind: 'claimed', claim: { taskId: id, attempt: 1 } });
    // Another token finds the entry's task leased: nothing for it.
    const other = await claimBehind(client, keys, 'a', after, 'token-b');
    expect(other).toEqual({ kind: 'none' });
    expect(await getTask(client, keys, id)).toMatchObject({ attempt: 1 });
    expect(await client.hget(keys.task(id), 'leaseToken')).toBe('token-a');
  });

  it('takes only what this consumer was delivered after the take', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const { id: early } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    // Delivered to "a" before the take, never claimed: not the read's, so not the claim's.
    await client.xreadgroup('GROUP', TRACKER_GROUP, 'a', 'COUNT', 1, 'STREAMS', keys.tasks(0), '>');
    const after = await emptyTake(client, keys, 'a');
    const { id: late } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    // Delivered to "b": not "a"'s.
    await client.xreadgroup('GROUP', TRACKER_GROUP, 'b', 'COUNT', 1, 'STREAMS', keys.tasks(0), '>');
    const result = await claimBehind(client, keys, 'a', after, 'token-a');
    expect(result).toEqual({ kind: 'none' });
    expect(await getTask(client, keys, early)).toMatchObject({ status: 'queued' });
    expect(await getTask(client, keys, late)).toMatchObject({ status: 'queued' });
  });
});
