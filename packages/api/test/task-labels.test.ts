// A task's name and tags: refused at submission with 400 VALIDATION_FAILED naming each bad field
// (JSON and multipart), stored in the task hash and shown by GET /v1/tasks/:id and the list (null
// and {} when none), part of the Idempotency-Key body, and filtered on by GET /v1/tasks (`name`,
// a trailing `*` for a prefix, repeated `tag=key=value` / `tag=key`), with paging correct while
// the filter drops tasks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTask } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { listTasks } from '../src/tasks/task-listing.js';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';
import { multipartBody } from './helpers/multipart.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  await new FakeTracker(api.redis, api.keys, api.store).register();
});
afterAll(() => api.close());

interface Issue {
  field: string;
  reason: string;
}
interface Listed {
  id: string;
  name: string | null;
  tags: Record<string, string>;
}
interface Page {
  items: Listed[];
  nextCursor: string | null;
}

async function post(payload: unknown, headers: Record<string, string> = {}, key: string = KEYS.alice) {
  return api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: { ...auth(key), ...headers },
    payload: payload as string,
  });
}

async function submit(spec: Record<string, unknown>, key: string = KEYS.alice): Promise<string> {
  const res = await post({ executer: 'probe', ...spec }, {}, key);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

async function get(url: string, key: string = KEYS.alice) {
  return api.app.inject({ url, headers: auth(key) });
}

/** Every page of a listing, following `nextCursor`. */
async function listAll(query: string, key: string): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await get(`/v1/tasks?${query}${cursor ? `&cursor=${cursor}` : ''}`, key);
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json<Page>();
    ids.push(...page.items.map((t) => t.id));
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== null && pages < 50);
  return { ids, pages };
}

describe('submitting a name and tags', () => {
  it.each([
    ['a tag key with a space', { tags: { 'my key': 'x' } }, 'tags.my key', 'not a tag key'],
    ['a tag key starting with "-"', { tags: { '-x': 'x' } }, 'tags.-x', 'not a tag key'],
    ['a name over 200 characters', { name: 'n'.repeat(201) }, 'name', '200'],
    ['an empty name', { name: '' }, 'name', '1'],
    ['a name with a newline', { name: 'a\nb' }, 'name', 'control characters'],
    [
      '33 tags',
      { tags: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) },
      'tags',
      'at most 32 tags',
    ],
    ['a number as a tag value', { tags: { seed: 3 } }, 'tags.seed', 'expected string'],
    ['a tag value over 256 characters', { tags: { note: 'v'.repeat(257) } }, 'tags.note', '256'],
    ['tags as a list', { tags: ['a=b'] }, 'tags', 'expected object'],
  ])(
    'refuses %s with 400 VALIDATION_FAILED naming the field, and writes nothing',
    async (_l, extra, field, reason) => {
      const before = await api.redis.zcard(api.keys.index);
      const res = await post({ executer: 'probe', ...extra });
      expect(res.statusCode).toBe(400);
      const error = res.json<{ error: { code: string; message: string; details: { issues: Issue[] } } }>()
        .error;
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.details.issues).toContainEqual({
        field,
        reason: expect.stringContaining(reason) as unknown,
      });
      expect(error.message).toContain(field);
      expect(await api.redis.zcard(api.keys.index)).toBe(before);
    },
  );

  it('names every bad label at once', async () => {
    const res = await post({ executer: 'probe', name: 'x'.repeat(300), tags: { 'a b': 'x', ok: 1 } });
    expect(
      res
        .json()
        .error.details.issues.map((i: Issue) => i.field)
        .sort(),
    ).toEqual(['name', 'tags.a b', 'tags.ok']);
  });

  it('refuses a multipart spec with a bad tag before storing a byte', async () => {
    const body = await multipartBody({ executer: 'probe', tags: { 'bad key': 'x' } }, { 'a.txt': 'x' });
    const res = await post(body.payload, body.headers);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.issues).toContainEqual({
      field: 'tags.bad key',
      reason: expect.stringContaining('not a tag key') as unknown,
    });
  });

  it('stores them in the task record and shows them in the task and the list; none: null and {}', async () => {
    const tags = { sweep: 'lr-2024', 'owner.name': 'ada', empty: '' };
    const id = await submit({ name: 'lr sweep – run 1 ✓', tags });
    const bare = await submit({});
    const record = await getTask(api.redis, api.keys, id);
    expect(record).toMatchObject({ name: 'lr sweep – run 1 ✓', tags });
    expect(await api.redis.hget(api.keys.task(id), 'name')).toBe('lr sweep – run 1 ✓');
    expect((await get(`/v1/tasks/${id}`)).json()).toMatchObject({ id, name: 'lr sweep – run 1 ✓', tags });
    expect((await get(`/v1/tasks/${bare}`)).json()).toMatchObject({ id: bare, name: null, tags: {} });
    const listed = (await get('/v1/tasks?limit=5')).json<Page>().items;
    expect(listed.find((t) => t.id === id)).toMatchObject({ name: 'lr sweep – run 1 ✓', tags });
    expect(listed.find((t) => t.id === bare)).toMatchObject({ name: null, tags: {} });
  });

  it('stores them from a multipart submission', async () => {
    const body = await multipartBody(
      { executer: 'probe', name: 'with inputs', tags: { kind: 'mp' } },
      { 'a.txt': 'x' },
    );
    const res = await post(body.payload, body.headers);
    expect(res.statusCode).toBe(201);
    const view = (await get(`/v1/tasks/${res.json().id}`)).json();
    expect(view).toMatchObject({ name: 'with inputs', tags: { kind: 'mp' }, inputs: [{ name: 'a.txt' }] });
  });

  it('counts them in the Idempotency-Key body: another name or tag is a 409, the same tags in any order a replay', async () => {
    const spec = { executer: 'probe', name: 'first', tags: { a: '1', b: '2' } };
    const first = await post(spec, { 'idempotency-key': 'labels-1' });
    expect(first.statusCode).toBe(201);
    const reordered = await post({ ...spec, tags: { b: '2', a: '1' } }, { 'idempotency-key': 'labels-1' });
    expect(reordered.statusCode).toBe(200);
    expect(reordered.json()).toMatchObject({ id: first.json().id, replayed: true });
    const renamed = await post({ ...spec, name: 'second' }, { 'idempotency-key': 'labels-1' });
    expect(renamed.statusCode).toBe(409);
    const retagged = await post({ ...spec, tags: { a: '1', b: '3' } }, { 'idempotency-key': 'labels-1' });
    expect(retagged.statusCode).toBe(409);
  });
});

describe('GET /v1/tasks filtered by name and tags', () => {
  // Bob's tasks, oldest first: a sweep of 7 runs tagged sweep=lr and seed=1|2, with other tasks
  // between them, so each page of a filtered list has tasks the filter drops.
  const sweep: string[] = [];
  const seed1: string[] = [];
  const otherSeed2: string[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 7; i++) {
      const seed = String((i % 2) + 1);
      const id = await submit({ name: `lr-run-${i}`, tags: { sweep: 'lr', seed } }, KEYS.bob);
      sweep.push(id);
      if (seed === '1') seed1.push(id);
      const otherId = await submit({ name: 'lr-other', tags: { sweep: 'bs', seed } }, KEYS.bob);
      if (seed === '2') otherSeed2.push(otherId);
      await submit({}, KEYS.bob);
    }
  });
  const newestFirst = (ids: string[]): string[] => [...ids].reverse();

  it('by exact name, and by a name prefix with a trailing *', async () => {
    expect((await listAll('name=lr-run-3', KEYS.bob)).ids).toEqual([sweep[3]]);
    expect((await listAll('name=lr-run', KEYS.bob)).ids).toEqual([]);
    expect((await listAll('name=lr-run-*&limit=2', KEYS.bob)).ids).toEqual(newestFirst(sweep));
    const named = (await listAll('name=*', KEYS.bob)).ids;
    expect(named).toHaveLength(14);
  });

  it('by one tag, two tags (all must match) and a key alone, page by page', async () => {
    const one = await listAll('tag=sweep=lr&limit=2', KEYS.bob);
    expect(one.ids).toEqual(newestFirst(sweep));
    expect(one.pages).toBeGreaterThanOrEqual(4);
    const two = await listAll('tag=sweep=lr&tag=seed=1&limit=2', KEYS.bob);
    expect(two.ids).toEqual(newestFirst(seed1));
    expect(two.pages).toBeGreaterThanOrEqual(2);
    expect((await listAll('tag=seed&limit=3', KEYS.bob)).ids).toHaveLength(14);
    expect((await listAll('tag=sweep=nope', KEYS.bob)).ids).toEqual([]);
    const mixed = await listAll('tag=seed=2&name=lr-other', KEYS.bob);
    expect(mixed.ids).toEqual(newestFirst(otherSeed2));
    expect((await listAll('tag=sweep=lr', KEYS.alice)).ids).toEqual([]);
  });

  it('hands back a cursor when a page’s scan budget runs out inside a filtered list, and misses nothing', async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await listTasks(api.redis, api.prefix, {
        tenant: 'bob',
        queues: ['default'],
        statuses: null,
        executer: null,
        labels: { name: null, tags: [{ key: 'sweep', value: 'lr' }] },
        limit: 5,
        cursor,
        scanBudget: 4,
      });
      ids.push(...page.items.map((f) => f.record.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 50);
    expect(ids).toEqual(newestFirst(sweep));
    expect(pages).toBeGreaterThanOrEqual(5);
  });

  it('refuses a malformed tag filter and an empty name, naming the field', async () => {
    const bad = await get('/v1/tasks?tag=seed=1&tag=bad%20key=x');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: {
        issues: [{ field: 'query.tag[1]', reason: expect.stringContaining('not a tag key') as unknown }],
      },
    });
    const empty = await get('/v1/tasks?name=');
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.code).toBe('VALIDATION_FAILED');
  });
});
