// GET /v1/tasks?tenant=: an admin key lists another tenant's tasks, or with `tenant=*` every
// tenant's (newest first across queues, cursor-paged, filters applying); a user key may name only
// its own tenant (403 FORBIDDEN naming query.tenant otherwise). Every item names its tenant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
/** alice's (default), bob's (big, cancelled), alice's (big), the admin's own (default). */
let ids: { alice1: string; bob: string; alice2: string; ops: string };

/**
 * Newest first, as the index orders them: by creation time, then id (an id starts with its
 * creation time, so tasks created in one millisecond sort by id).
 */
const newestFirst = (...list: string[]): string[] => [...list].sort().reverse();

interface Page {
  items: Array<{ id: string; tenant: string; status: string }>;
  nextCursor: string | null;
}

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  await new FakeTracker(api.redis, api.keys, api.store).register();
  await new FakeTracker(api.redis, queueKeys(api.prefix, 'big'), api.store).register();
  ids = {
    alice1: await submitProbe(api.app, KEYS.alice),
    bob: await submitProbe(api.app, KEYS.bob, { queue: 'big' }),
    alice2: await submitProbe(api.app, KEYS.alice, { queue: 'big' }),
    ops: await submitProbe(api.app, KEYS.admin),
  };
  const cancel = await api.app.inject({
    method: 'POST',
    url: `/v1/tasks/${ids.bob}/cancel`,
    headers: auth(KEYS.bob),
  });
  expect(cancel.statusCode).toBe(200);
});
afterAll(() => api.close());

const get = (query: string, key: string) => api.app.inject({ url: `/v1/tasks?${query}`, headers: auth(key) });

async function list(query: string, key: string): Promise<Page> {
  const res = await get(query, key);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Page>();
}

describe('GET /v1/tasks?tenant=', () => {
  it('lists another tenant’s tasks for an admin key, each item naming its tenant', async () => {
    const page = await list('tenant=alice', KEYS.admin);
    expect(page.items.map((t) => t.id)).toEqual(newestFirst(ids.alice1, ids.alice2));
    expect(page.items.map((t) => t.tenant)).toEqual(['alice', 'alice']);
    // Without `tenant`, the key's own tenant, as before; the items name it too.
    expect((await list('', KEYS.admin)).items.map((t) => [t.id, t.tenant])).toEqual([[ids.ops, 'ops']]);
    expect((await list('tenant=alice', KEYS.alice)).items.map((t) => t.id)).toEqual(
      newestFirst(ids.alice1, ids.alice2),
    );
  });

  it('lists every tenant’s tasks with tenant=*, newest first across queues, page by page', async () => {
    const all = await list('tenant=*', KEYS.admin);
    const tenantOf = { [ids.alice1]: 'alice', [ids.bob]: 'bob', [ids.alice2]: 'alice', [ids.ops]: 'ops' };
    const everyone = newestFirst(...Object.values(ids));
    expect(all.items.map((t) => [t.id, t.tenant])).toEqual(everyone.map((id) => [id, tenantOf[id]]));
    expect(all.nextCursor).toBeNull();
    const pages: string[][] = [];
    let cursor: string | null = '';
    while (cursor !== null && pages.length < 10) {
      const page: Page = await list(`tenant=*&limit=1${cursor ? `&cursor=${cursor}` : ''}`, KEYS.admin);
      pages.push(page.items.map((t) => t.id));
      cursor = page.nextCursor;
    }
    expect(pages).toEqual(everyone.map((id) => [id]));
    // The filters apply across tenants.
    const cancelled = await list('tenant=*&status=cancelled', KEYS.admin);
    expect(cancelled.items.map((t) => t.id)).toEqual([ids.bob]);
    const big = await list('tenant=*&queue=big', KEYS.admin);
    expect(big.items.map((t) => t.id)).toEqual(newestFirst(ids.alice2, ids.bob));
  });

  it('refuses a user key another tenant or every tenant with 403 naming query.tenant', async () => {
    for (const tenant of ['bob', '*']) {
      const res = await get(`tenant=${encodeURIComponent(tenant)}`, KEYS.alice);
      expect(res.statusCode, tenant).toBe(403);
      const { error } = res.json<{
        error: { code: string; message: string; details: { issues: Array<{ field: string }> } };
      }>();
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('query.tenant');
      expect(error.details.issues[0]?.field).toBe('query.tenant');
      expect(res.body).not.toContain(ids.bob);
    }
  });

  it('refuses a tenant that is not a name with 400', async () => {
    const res = await get('tenant=not%20a%20name', KEYS.admin);
    expect([res.statusCode, res.json().error.details.issues[0].field]).toEqual([400, 'query.tenant']);
  });
});
