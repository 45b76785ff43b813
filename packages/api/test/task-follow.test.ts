// Following a task: SSE of status transitions and progress ending with the final status, the
// `?wait=1` long-poll, the logs as text (live stream, or the output files once the live stream is
// gone) and as SSE that resumes after Last-Event-ID. Real server, real streams, a fake tracker
// driving the task through core's protocol.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';
import { parseSse, SseReader } from './helpers/sse.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
let tracker: FakeTracker;
let base: string;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
  base = await api.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => api.close());

async function submit(): Promise<string> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: auth(KEYS.alice),
    payload: { executer: 'probe' },
  });
  return res.json<{ id: string }>().id;
}

async function open(path: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const res = await fetch(`${base}${path}`, { headers: { ...auth(KEYS.alice), ...headers } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  return new SseReader(res);
}

const status = (e: { data: string }): { status: string; attempt: number; reason: string | null } =>
  JSON.parse(e.data);

describe('GET /v1/tasks/:id/events', () => {
  it('streams each transition and progress as they happen, ending with the final status', async () => {
    const id = await submit();
    const sse = await open(`/v1/tasks/${id}/events`);
    expect(status(await sse.until((e) => e.event === 'status'))).toMatchObject({
      status: 'queued',
      attempt: 0,
    });
    const claim = await tracker.take();
    expect(claim.taskId).toBe(id);
    expect(status(await sse.until((e) => e.event === 'status'))).toMatchObject({
      status: 'running',
      attempt: 1,
    });
    await tracker.log(claim, 'stdout', 'step 1/3\nstep 2/3\n');
    const progress = JSON.parse((await sse.until((e) => e.event === 'progress')).data);
    expect(progress).toMatchObject({ outputBytes: 18, lastLine: 'step 2/3' });
    await tracker.setStatus(claim, 'uploading');
    expect(status(await sse.until((e) => e.event === 'status')).status).toBe('uploading');
    await tracker.finish(claim, 'succeeded');
    const rest = await sse.rest();
    const statuses = rest.filter((e) => e.event === 'status').map((e) => status(e).status);
    expect(statuses).toEqual(['succeeded']);
    expect(rest.at(-1)?.event).toBe('status');
  });

  it('answers a task that already ended with its final status and closes', async () => {
    const id = await submit();
    await api.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: auth(KEYS.alice) });
    const res = await api.app.inject({ url: `/v1/tasks/${id}/events`, headers: auth(KEYS.alice) });
    const events = parseSse(res.body);
    expect(events.map((e) => [e.event, status(e).status])).toEqual([['status', 'cancelled']]);
  });

  it('with ?wait=1 answers the final record once the task ends', async () => {
    const id = await submit();
    const waiting = api.app.inject({ url: `/v1/tasks/${id}/events?wait=1`, headers: auth(KEYS.alice) });
    const claim = await tracker.take();
    expect(claim.taskId).toBe(id);
    await tracker.finish(claim, 'succeeded', { 'out.txt': 'done' });
    const res = await waiting;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toMatchObject({ id, status: 'succeeded', outputs: { files: 1 } });
  });

  it('with ?wait=1 answers the current record when timeoutMs passes first', async () => {
    const id = await submit();
    const started = Date.now();
    const res = await api.app.inject({
      url: `/v1/tasks/${id}/events?wait=1&timeoutMs=300`,
      headers: auth(KEYS.alice),
    });
    expect(res.json()).toMatchObject({ id, status: 'queued' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await api.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: auth(KEYS.alice) });
  });
});

describe('GET /v1/tasks/:id/logs', () => {
  it('answers the output so far as text, in the order it was written', async () => {
    const id = await submit();
    const claim = await tracker.take();
    expect(claim.taskId).toBe(id);
    await tracker.log(claim, 'stdout', 'out 1\n');
    await tracker.log(claim, 'stderr', 'err 1\n');
    const last = await tracker.log(claim, 'stdout', 'out 2 ✓\n');
    const all = await api.app.inject({ url: `/v1/tasks/${id}/logs`, headers: auth(KEYS.alice) });
    expect(all.body).toBe('out 1\nerr 1\nout 2 ✓\n');
    expect(all.headers).toMatchObject({ 'gpufleet-log-source': 'live', 'gpufleet-log-cursor': last });
    const stderr = await api.app.inject({
      url: `/v1/tasks/${id}/logs?stream=stderr`,
      headers: auth(KEYS.alice),
    });
    expect(stderr.body).toBe('err 1\n');
    await tracker.finish(claim, 'succeeded', { 'stdout.txt': 'out 1\nout 2 ✓\n', 'stderr.txt': 'err 1\n' });
    await api.redis.del(api.keys.log(id));
    const fromFiles = await api.app.inject({ url: `/v1/tasks/${id}/logs`, headers: auth(KEYS.alice) });
    expect(fromFiles.headers['gpufleet-log-source']).toBe('outputs');
    expect(fromFiles.body).toBe('out 1\nout 2 ✓\nerr 1\n');
  });

  it('follows new output (SSE) until the task ends, and resumes after Last-Event-ID', async () => {
    const id = await submit();
    const claim = await tracker.take();
    expect(claim.taskId).toBe(id);
    const first = await tracker.log(claim, 'stdout', 'line 1\n');
    const sse = await open(`/v1/tasks/${id}/logs?follow=1`);
    const one = await sse.until((e) => e.event === 'log');
    expect(one.id).toBe(first);
    expect(JSON.parse(one.data)).toEqual({ stream: 'stdout', text: 'line 1\n' });
    // Bytes of one character split across two entries come out whole; CR survives the transport.
    const euro = Buffer.from('€\r\n');
    await tracker.log(claim, 'stderr', euro.subarray(0, 1));
    await tracker.log(claim, 'stderr', euro.subarray(1));
    const second = await tracker.log(claim, 'stdout', 'line 2\n');
    const got: string[] = [];
    while (got.join('') !== '€\r\nline 2\n')
      got.push(JSON.parse((await sse.until((e) => e.event === 'log')).data).text);
    await tracker.finish(claim, 'failed', {}, { errorCode: 'EXIT_NONZERO' });
    const end = await sse.until((e) => e.event === 'end');
    expect(JSON.parse(end.data)).toMatchObject({ status: 'failed', exitCode: 1, errorCode: 'EXIT_NONZERO' });
    expect(await sse.next()).toBeNull();

    const resumed = await open(`/v1/tasks/${id}/logs?follow=1`, { 'last-event-id': first });
    const events = await resumed.rest();
    const logIds = events.filter((e) => e.event === 'log' && e.id !== null).map((e) => e.id);
    expect(logIds.at(-1)).toBe(second);
    expect(logIds).not.toContain(first);
    expect(events.at(-1)?.event).toBe('end');
  });

  it('refuses a Last-Event-ID that is not a log entry id', async () => {
    const id = await submit();
    const res = await api.app.inject({
      url: `/v1/tasks/${id}/logs?follow=1`,
      headers: { ...auth(KEYS.alice), 'last-event-id': 'yesterday' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_CURSOR');
    await api.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: auth(KEYS.alice) });
  });
});
