// Tasks read from the archive once they left Redis, on the local store and on S3 (the testkit's
// S3-protocol server): each task is finished through core's protocol functions (FakeTracker),
// archived with core's archiveTask and its keys deleted as the retention sweep deletes them. Then
// GET /v1/tasks/:id answers the record it had (`archived: true`), another tenant gets the same 404
// as for a missing task, outputs still download, logs come from the output files, events end at
// once, cancel/priority answer as for an ended task, and GET /v1/tasks?archived=true lists a time
// range (newest day first, paged, filtered) and refuses a bad range naming the field.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archiveTask,
  artifactStoreSettingsFrom,
  newTaskId,
  openArtifactStore,
  parseTaskRecord,
  type ArtifactStore,
  type TaskRecord,
} from '@gpufleet/core';
import { uniquePrefix, useRedis, useS3Server, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';
import { parseSse } from './helpers/sse.js';
import { unzip } from './helpers/unzip.js';

const redis = useRedis();
const s3 = useS3Server();
const temp = useTempDirs();

const DAY = 86_400_000;
const ARCHIVED_AT = Date.now();
const LOG_FILES = { 'stdout.txt': 'step 1\nstep 2\n', 'stderr.txt': 'warn\n' };
const RESULT = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 253));

describe.each(['local', 's3'] as const)('archived tasks on the %s store', (kind) => {
  let api: TestApi;
  let store: ArtifactStore;
  let done: string; // succeeded with outputs and log files
  let cancelled: string; // cancelled while queued: no outputs
  let old: string; // failed, archived as if it ended three days ago
  let liveView: Record<string, unknown>;
  let liveManifest: unknown;
  const since = Date.now() - 60_000;

  const get = (url: string, key: string = KEYS.alice) => api.app.inject({ url, headers: auth(key) });
  const send = (method: 'POST' | 'PUT', url: string, payload?: unknown) =>
    api.app.inject({ method, url, headers: auth(KEYS.alice), payload: payload as object });

  async function submit(spec: Record<string, unknown> = {}): Promise<string> {
    const res = await send('POST', '/v1/tasks', { executer: 'probe', ...spec });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  /** Moves an ended task out of Redis as the retention sweep does: archive first, then its keys go. */
  async function archive(id: string, change: Partial<TaskRecord> = {}): Promise<void> {
    const hash = await api.redis.hgetall(api.keys.task(id));
    const record = parseTaskRecord(hash);
    if (!record) throw new Error(`no task ${id} in Redis`);
    await archiveTask(store, { ...record, ...change }, ARCHIVED_AT, hash.executerVersion ?? null);
    await api.redis.del(api.keys.task(id), api.keys.log(id));
    await api.redis.zrem(api.keys.index, id);
  }

  beforeAll(async () => {
    const s3Store =
      kind === 's3'
        ? openArtifactStore(
            artifactStoreSettingsFrom(`s3://${s3.server.bucket}/${uniquePrefix('arch')}`, '/unused', {
              ...s3.server.env,
            }),
          )
        : null;
    api = await startTestApi(redis.server, temp, s3Store ? { wrapStore: () => s3Store } : {});
    store = s3Store ?? api.store;
    const tracker = new FakeTracker(api.redis, api.keys, store);
    await tracker.register();

    done = await submit({ tags: { run: 'a' } });
    const claim = await tracker.take();
    await tracker.log(claim, 'stdout', 'live line\n');
    await tracker.finish(claim, 'succeeded', { ...LOG_FILES, 'result.bin': RESULT });
    liveView = (await get(`/v1/tasks/${done}`)).json();
    liveManifest = (await get(`/v1/tasks/${done}/outputs`)).json();

    cancelled = await submit({ tags: { run: 'b' } });
    expect((await send('POST', `/v1/tasks/${cancelled}/cancel`)).statusCode).toBe(200);

    old = await submit();
    await tracker.finish(await tracker.take(), 'failed');

    await archive(done);
    await archive(cancelled);
    await archive(old, { endedAt: Date.now() - 3 * DAY });
  });
  afterAll(async () => {
    await api?.close();
    if (kind === 's3') await store?.close();
  });

  it('GET answers the record it had in Redis, marked archived; other tenants’ user keys get the usual 404', async () => {
    expect(liveView).toMatchObject({ id: done, status: 'succeeded', archived: false, archivedAt: null });
    expect(await api.redis.exists(api.keys.task(done))).toBe(0);
    const res = await get(`/v1/tasks/${done}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ ...liveView, archived: true, archivedAt: ARCHIVED_AT });
    expect(res.json()).toMatchObject({ queuePosition: null, waitReason: null, expectedStartAt: null });
    if (kind === 's3') {
      // Read from the bucket: only the API reads an archived record (beforeAll only wrote them).
      const reads = (await s3.server.requests()).filter((r) => r.operation === 'GetObject');
      expect(reads.some((r) => r.url.includes(`_archive/tasks/${done}.json`))).toBe(true);
    }

    const missing = await get(`/v1/tasks/${newTaskId()}`);
    expect(missing.statusCode).toBe(404);
    const other = await get(`/v1/tasks/${done}`, KEYS.bob);
    expect(other.statusCode).toBe(404);
    expect(other.json()).toEqual(missing.json());
    expect((await get(`/v1/tasks/${done}/outputs`, KEYS.bob)).statusCode).toBe(404);
    // An admin key reads any tenant's task by id, archived too.
    const admin = await get(`/v1/tasks/${done}`, KEYS.admin);
    expect(admin.statusCode).toBe(200);
    expect(admin.json()).toEqual(res.json());
  });

  it('serves the outputs through the archived manifest: one file, the zip', async () => {
    expect((await get(`/v1/tasks/${done}/outputs`)).json()).toEqual(liveManifest);
    const file = await get(`/v1/tasks/${done}/outputs/result.bin`);
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.equals(RESULT)).toBe(true);
    expect(file.headers.etag).toBe(`"${createHash('sha256').update(RESULT).digest('hex')}"`);
    const zip = unzip((await get(`/v1/tasks/${done}/outputs.zip`)).rawPayload);
    expect(zip.get('stdout.txt')?.toString()).toBe(LOG_FILES['stdout.txt']);
    expect(zip.get('result.bin')?.equals(RESULT)).toBe(true);
    const none = await get(`/v1/tasks/${cancelled}/outputs`);
    expect([none.statusCode, none.json().error.code]).toEqual([404, 'NO_OUTPUTS']);
  });

  it('answers logs from the output files; a follow replays them and ends', async () => {
    const text = await get(`/v1/tasks/${done}/logs`);
    expect(text.statusCode).toBe(200);
    expect(text.body).toBe('step 1\nstep 2\nwarn\n');
    expect(text.headers).toMatchObject({ 'gpufleet-log-source': 'outputs', 'gpufleet-log-complete': 'true' });
    expect((await get(`/v1/tasks/${done}/logs?stream=stderr`)).body).toBe('warn\n');

    const events = parseSse((await get(`/v1/tasks/${done}/logs?follow=1`)).body);
    expect(events.map((e) => [e.event, JSON.parse(e.data)])).toEqual([
      ['log', { stream: 'stdout', text: 'step 1\nstep 2\n' }],
      ['log', { stream: 'stderr', text: 'warn\n' }],
      ['end', { status: 'succeeded', exitCode: 0, error: null, errorCode: null }],
    ]);

    // No log files and no live stream: the log is not known, which an empty 200 would hide.
    const gone = await get(`/v1/tasks/${cancelled}/logs`);
    expect([gone.statusCode, gone.json().error.code]).toEqual([404, 'NO_OUTPUTS']);
    expect(gone.json().error.message).toContain('archived');
    const followed = parseSse((await get(`/v1/tasks/${cancelled}/logs?follow=1`)).body);
    expect(followed.map((e) => [e.event, JSON.parse(e.data).status])).toEqual([['end', 'cancelled']]);
  });

  it('events end at once with the final status; ?wait=1 answers the archived view', async () => {
    const events = parseSse((await get(`/v1/tasks/${done}/events`)).body);
    expect(events.map((e) => [e.event, JSON.parse(e.data).status])).toEqual([['status', 'succeeded']]);
    const started = Date.now();
    const waited = await get(`/v1/tasks/${done}/events?wait=1&timeoutMs=20000`);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(waited.json()).toMatchObject({ id: done, status: 'succeeded', archived: true });
  });

  it('cancel and priority answer as for an ended task', async () => {
    const cancel = await send('POST', `/v1/tasks/${done}/cancel`);
    expect([cancel.statusCode, cancel.json().error.code]).toEqual([409, 'TASK_FINISHED']);
    const again = await send('POST', `/v1/tasks/${cancelled}/cancel`);
    expect([again.statusCode, again.json()]).toEqual([
      200,
      { id: cancelled, status: 'cancelled', cancelRequested: false },
    ]);
    const priority = await send('PUT', `/v1/tasks/${done}/priority`, { priority: 900 });
    expect([priority.statusCode, priority.json().error]).toMatchObject([
      409,
      { code: 'TASK_NOT_WAITING', details: { status: 'succeeded' } },
    ]);
  });

  it('lists archived tasks of a range: newest day first, paged, filtered, per tenant', async () => {
    const list = async (query: string, key: string = KEYS.alice) => {
      const res = await get(`/v1/tasks?archived=1&${query}`, key);
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ items: Array<{ id: string; archived: boolean }>; nextCursor: string | null }>();
    };
    const ids = async (query: string, key?: string) => (await list(query, key)).items.map((t) => t.id);
    // Today's two, newest created first; the failed one ended three days ago.
    expect(await ids(`from=${since}`)).toEqual([cancelled, done]);
    const fourDaysAgo = new Date(Date.now() - 4 * DAY).toISOString().slice(0, 10);
    expect(await ids(`from=${fourDaysAgo}`)).toEqual([cancelled, done, old]);
    expect(await ids(`from=${fourDaysAgo}&to=${new Date(since).toISOString()}`)).toEqual([old]);
    expect((await list(`from=${since}`)).items[0]).toMatchObject({ archived: true, archivedAt: ARCHIVED_AT });

    const pages: string[][] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await list(`from=${fourDaysAgo}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(page.items.map((t) => t.id));
      cursor = page.nextCursor;
    }
    expect(pages).toEqual([[cancelled], [done], [old]]);

    expect(await ids(`from=${fourDaysAgo}&status=succeeded,failed`)).toEqual([done, old]);
    expect(await ids(`from=${fourDaysAgo}&tag=run=b`)).toEqual([cancelled]);
    expect(await ids(`from=${fourDaysAgo}`, KEYS.bob)).toEqual([]);
    expect(await ids(`from=${fourDaysAgo}&tenant=alice`, KEYS.admin)).toEqual([cancelled, done, old]);
    const forbidden = await get(`/v1/tasks?archived=1&from=${since}&tenant=alice`, KEYS.bob);
    expect([forbidden.statusCode, forbidden.json().error.code]).toEqual([403, 'FORBIDDEN']);
    // They left Redis: the live listing no longer has them.
    expect((await get('/v1/tasks')).json().items).toEqual([]);
  });

  it('refuses a bad range with a 400 naming the field', async () => {
    const now = Date.now();
    const cases: Array<[string, string]> = [
      ['archived=1', 'query.from'],
      [`archived=1&from=${now - 32 * DAY}`, 'query.from'],
      [`archived=1&from=${now - 10 * DAY}&to=${now - 42 * DAY}`, 'query.to'],
      ['archived=1&from=last-week', 'query.from'],
      [`archived=1&from=${now}&to=2024-13-45`, 'query.to'],
      // Without archived=true they bound the creation time: still times, in order.
      ['from=last-week', 'query.from'],
      [`from=${now}&to=${now - DAY}`, 'query.to'],
    ];
    for (const [query, field] of cases) {
      const res = await get(`/v1/tasks?${query}`);
      expect([query, res.statusCode, res.json().error.code]).toEqual([query, 400, 'VALIDATION_FAILED']);
      expect(res.json().error.details.issues[0].field).toBe(field);
    }
    // Every tenant's tasks are listed from Redis only: the archive is kept per tenant.
    const everyone = await get(`/v1/tasks?archived=1&from=${now - DAY}&tenant=*`, KEYS.admin);
    expect([everyone.statusCode, everyone.json().error.details.issues[0].field]).toEqual([
      400,
      'query.tenant',
    ]);
    const liveCursor = Buffer.from(JSON.stringify([now, done])).toString('base64url');
    const res = await get(`/v1/tasks?archived=1&from=${now - DAY}&cursor=${liveCursor}`);
    expect([res.statusCode, res.json().error.code]).toEqual([400, 'INVALID_CURSOR']);
  });
});
