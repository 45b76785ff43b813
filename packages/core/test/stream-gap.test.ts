// Telling whether a stream reader lost entries, against a real Redis 7: what XINFO STREAM says
// after trims (which leave max-deleted-entry-id alone), after XDEL, once the stream is emptied or
// gone, and, for a reader that knows its position, exactly where a trim stopped.
import { describe, expect, it } from 'vitest';
import { entriesLostAfter, xinfoStreamWindow } from '@gpufleet/core';
import { uniquePrefix, useRedis } from '@gpufleet/testkit';

const redis = useRedis();

/** A stream of entries 1-0 … 10-0. */
async function tenEntries(): Promise<{ client: ReturnType<typeof redis.server.client>; key: string }> {
  const client = redis.server.client();
  const key = `${uniquePrefix()}:stream`;
  for (let i = 1; i <= 10; i++) await client.xadd(key, `${i}-0`, 'n', String(i));
  return { client, key };
}

describe('entriesLostAfter', () => {
  it('finds nothing lost in a stream that was never trimmed', async () => {
    const { client, key } = await tenEntries();
    const window = await xinfoStreamWindow(client, key);
    expect(window).toEqual({
      exists: true,
      length: 10,
      entriesAdded: 10,
      firstId: '1-0',
      lastGeneratedId: '10-0',
      maxDeletedId: '0-0',
    });
    for (const cursor of ['0-0', '1-0', '5-0', '10-0']) expect(entriesLostAfter(window, cursor)).toBe(false);
  });

  it('finds a cursor the trim passed, but not one still inside what the stream holds', async () => {
    const { client, key } = await tenEntries();
    await client.xtrim(key, 'MINID', '6-0');
    const window = await xinfoStreamWindow(client, key);
    // Redis 7.0 counts the trim in entries-added - length, not in max-deleted-entry-id.
    expect(window).toMatchObject({ length: 5, entriesAdded: 10, firstId: '6-0', maxDeletedId: '0-0' });
    expect(entriesLostAfter(window, '2-0')).toBe(true);
    expect(entriesLostAfter(window, '0-0')).toBe(true);
    expect(entriesLostAfter(window, '6-0')).toBe(false);
    expect(entriesLostAfter(window, '8-0')).toBe(false);
    // Where the trim stopped is told exactly by a reader's position: it had read 5 (up to 5-0), or 2.
    expect(entriesLostAfter(window, '5-0', 5)).toBe(false);
    expect(entriesLostAfter(window, '2-0', 2)).toBe(true);
  });

  it('finds an entry deleted after the cursor, and a stream trimmed to nothing', async () => {
    const { client, key } = await tenEntries();
    await client.xdel(key, '7-0');
    const deleted = await xinfoStreamWindow(client, key);
    expect(deleted.maxDeletedId).toBe('7-0');
    expect(entriesLostAfter(deleted, '6-0')).toBe(true);
    expect(entriesLostAfter(deleted, '7-0')).toBe(false);
    await client.xtrim(key, 'MAXLEN', 0);
    const empty = await xinfoStreamWindow(client, key);
    expect(empty).toMatchObject({ exists: true, length: 0, firstId: null, lastGeneratedId: '10-0' });
    expect(entriesLostAfter(empty, '9-0')).toBe(true);
    expect(entriesLostAfter(empty, '10-0')).toBe(false);
  });

  it('counts a gone stream as lost for a reader that had read some of it', async () => {
    const { client, key } = await tenEntries();
    await client.del(key);
    const gone = await xinfoStreamWindow(client, key);
    expect(gone).toMatchObject({ exists: false, length: 0, lastGeneratedId: '0-0' });
    expect(entriesLostAfter(gone, '3-0')).toBe(true);
    expect(entriesLostAfter(gone, '0-0')).toBe(false);
  });
});
