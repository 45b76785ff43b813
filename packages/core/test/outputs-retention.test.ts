// The optional outputs retention against a real Redis and both artifact stores: the sweep lists
// the tasks it archives only when an outputs retention is set; sweepOutputs deletes the outputs
// of every attempt of those that ended longer ago than it (their inputs stay), marks the archived
// record, and leaves the rest; a store that fails deletes nothing it has not done and keeps them
// listed; without the setting no outputs are touched.
import { describe, expect, it } from 'vitest';
import {
  attemptPrefix,
  inputsPrefix,
  parseDurationMs,
  readArchivedTask,
  sweepFinished,
  sweepOutputs,
  type ArtifactStore,
  type RetentionPolicy,
} from '@gpufleet/core';
import { useRedis, useS3Server, useTempDirs } from '@gpufleet/testkit';
import { fleetQueue as finishedTasksQueue, HOUR, policy, retentionStores } from './helpers/finished-tasks.js';

const redis = useRedis();
const s3 = useS3Server();
const temp = useTempDirs();
const stores = retentionStores(
  () => temp.make(),
  () => s3.server,
);
const fleetQueue = () => finishedTasksQueue(redis.server);

/** Every final status kept 1 h in Redis; outputs kept `outputs`. */
const withOutputs = (outputs: string): RetentionPolicy => ({
  ...policy('1h'),
  outputsMs: parseDurationMs(outputs) as number,
});

async function putTaskFiles(store: ArtifactStore, id: string): Promise<void> {
  await store.put(`${inputsPrefix('default', id)}/in.txt`, 'input');
  await store.put(`${attemptPrefix('default', id, 1)}/outputs/out.txt`, 'output');
}

describe.each(Object.keys(stores))('the outputs retention on the %s store', (kind) => {
  it('deletes the outputs of archived tasks past it, keeps inputs, and marks the record', async () => {
    const store = await stores[kind]!();
    const { client, keys, submit, finish } = await fleetQueue();
    for (let i = 0; i < 3; i++) await submit();
    const old = await finish('succeeded', Date.now() - 9 * HOUR);
    const recent = await finish('failed', Date.now() - 2 * HOUR);
    const kept = await finish('succeeded', Date.now() - 3 * HOUR);
    for (const id of [old, recent, kept]) await putTaskFiles(store, id);
    // `kept` is archived without an outputs retention: its outputs are never listed.
    await sweepFinished({ redis: client, keys, store, policy: policy('1h'), now: Date.now(), limit: 0 });
    const now = Date.now();
    const swept = await sweepFinished({ redis: client, keys, store, policy: withOutputs('5h'), now });
    expect(swept.removed).toBe(3);
    await client.zrem(keys.outputsDue, `default/${kept}/1`);
    expect(await sweepOutputs({ redis: client, keys, store, policy: withOutputs('5h'), now })).toBe(1);
    expect(await store.stat(`${attemptPrefix('default', old, 1)}/outputs/out.txt`)).toBeNull();
    expect(await store.stat(`${inputsPrefix('default', old)}/in.txt`)).toMatchObject({ size: 5 });
    expect(await readArchivedTask(store, old)).toMatchObject({ id: old, outputsDeletedAt: now });
    for (const id of [recent, kept])
      expect(await store.stat(`${attemptPrefix('default', id, 1)}/outputs/out.txt`)).toMatchObject({
        size: 6,
      });
    expect((await readArchivedTask(store, recent))?.outputsDeletedAt).toBeUndefined();
    // Three hours on, the recent one's turn.
    const later = now + 4 * HOUR;
    expect(await sweepOutputs({ redis: client, keys, store, policy: withOutputs('5h'), now: later })).toBe(1);
    expect(await store.stat(`${attemptPrefix('default', recent, 1)}/outputs/out.txt`)).toBeNull();
    expect(await client.zcard(keys.outputsDue)).toBe(0);
  });
});

describe('the outputs retention', () => {
  it('keeps the tasks listed when the store fails, and lists nothing without the setting', async () => {
    const store = await stores.local!();
    const { client, keys, submit, finish } = await fleetQueue();
    await submit();
    await submit();
    const first = await finish('succeeded', Date.now() - 9 * HOUR);
    await sweepFinished({ redis: client, keys, store, policy: withOutputs('5h'), now: Date.now() });
    const broken: ArtifactStore = Object.assign(Object.create(store) as ArtifactStore, {
      deletePrefix: () => Promise.reject(new Error('the store is down')),
    });
    const options = { redis: client, keys, store: broken, policy: withOutputs('5h'), now: Date.now() };
    await expect(sweepOutputs(options)).rejects.toThrow('the store is down');
    expect(await client.zrange(keys.outputsDue, 0, -1)).toEqual([`default/${first}/1`]);
    expect((await readArchivedTask(store, first))?.outputsDeletedAt).toBeUndefined();
    await finish('succeeded', Date.now() - 9 * HOUR);
    await sweepFinished({ redis: client, keys, store, policy: policy('1h'), now: Date.now() });
    expect(await client.zcard(keys.outputsDue)).toBe(1); // the second was archived without it
    expect(await sweepOutputs({ ...options, store, policy: policy('1h') })).toBe(0);
  });
});
