// The wait sets (lua/lib-common.lua addWaiting) hold exactly the tasks that wait to be taken:
// status `queued`, an entry in their stream that no tracker holds (not pending), not in their
// retry backoff; each in the set its hash names, and the registry lists exactly the sets that hold
// a task. Checked from the task hashes and the streams, after each step of a test.
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { TRACKER_GROUP, waitSetName, type QueueKeys } from '@gpufleet/core';

export async function expectWaitSetsConsistent(
  client: Redis,
  keys: QueueKeys,
  ids: readonly string[],
  step: string,
): Promise<void> {
  const expected = new Map<string, Set<string>>();
  for (const id of ids) {
    const f = await client.hgetall(keys.task(id));
    let waits = f.status === 'queued' && !!f.entry && !f.notBefore && !!f.stream;
    if (waits) {
      const pending = (await client.xpending(
        f.stream as string,
        TRACKER_GROUP,
        f.entry as string,
        f.entry as string,
        1,
      )) as unknown[];
      waits = pending.length === 0;
    }
    if (!waits) {
      expect(f.waitSet ?? '', `${step}: ${id} is in no wait set`).toBe('');
      continue;
    }
    const kind = (f.stream as string).includes(':requeued:') ? 'r' : 'w';
    const name = waitSetName(Number(f.gpus), Number(f.priority), kind, f.tenant || 'default');
    expect(f.waitSet, `${step}: ${id}'s wait set`).toBe(name);
    const members = expected.get(name) ?? new Set<string>();
    members.add(f.waitMember as string);
    expected.set(name, members);
  }
  const registry = (await client.zrange(keys.waitSets, 0, -1)).sort();
  expect(registry, `${step}: the registry`).toEqual([...expected.keys()].sort());
  for (const [name, members] of expected) {
    expect((await client.zrange(keys.waitSet(name), 0, -1)).sort(), `${step}: ${name}`).toEqual(
      [...members].sort(),
    );
  }
}
