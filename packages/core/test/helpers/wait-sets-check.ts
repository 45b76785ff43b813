// The wait sets (lua/lib-wait.lua addWaiting) hold exactly the tasks that wait to be taken:
// status `queued`, an entry in their stream that no tracker holds (not pending), not in their
// retry backoff; each in the set its hash names, the registry lists exactly the sets that hold a
// task, and the tenant registry (lua/lib-wait.lua) lists exactly their tenants with their sizes, by
// class. Checked from the task hashes and the streams, after each step of a test.
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { parseWaitSetName, TRACKER_GROUP, waitClass, waitSetName, type QueueKeys } from '@gpufleet/core';

/** The tenant registry's members (`<class>:<tenant>:<sizes>`) as class:tenant → sorted sizes. */
function tenantSizes(members: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const member of members) {
    const at = member.lastIndexOf(':');
    out[member.slice(0, at)] = member
      .slice(at + 1)
      .split(',')
      .sort()
      .join(',');
  }
  return out;
}

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
    const name = waitSetName(
      Number(f.gpus),
      Number(f.priority),
      kind,
      f.tenant || 'default',
      f.gpuRequest ?? '',
    );
    expect(f.waitSet, `${step}: ${id}'s wait set`).toBe(name);
    const members = expected.get(name) ?? new Set<string>();
    members.add(f.waitMember as string);
    expected.set(name, members);
  }
  const registry = (await client.zrange(keys.waitSets, 0, -1)).sort();
  expect(registry, `${step}: the registry`).toEqual([...expected.keys()].sort());
  const tenants = new Map<string, string[]>();
  for (const name of expected.keys()) {
    const set = parseWaitSetName(name);
    if (!set) throw new Error(`not a wait set name: ${name}`);
    const member = `${waitClass(set.priority, set.kind)}:${set.tenant}`;
    tenants.set(member, [...(tenants.get(member) ?? []), `${set.gpus}${set.request}`]);
  }
  const registered = await client.zrange(keys.waitTenants, 0, -1, 'WITHSCORES');
  expect(
    registered.filter((_, i) => i % 2 === 1),
    `${step}: the tenant registry's scores`,
  ).toEqual(registered.filter((_, i) => i % 2 === 1).map(() => '0'));
  expect(tenantSizes(registered.filter((_, i) => i % 2 === 0)), `${step}: the tenant registry`).toEqual(
    tenantSizes([...tenants].map(([member, sizes]) => `${member}:${sizes.join(',')}`)),
  );
  for (const [name, members] of expected) {
    expect((await client.zrange(keys.waitSet(name), 0, -1)).sort(), `${step}: ${name}`).toEqual(
      [...members].sort(),
    );
  }
}
