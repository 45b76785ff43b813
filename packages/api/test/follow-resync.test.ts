// A follow that lost its place gets an explicit `resync`, never a silent gap: a log follow whose
// Last-Event-ID the live log was trimmed past (or whose log is gone) gets `resync` and then the
// whole log, from the stream or from the output files; one whose Last-Event-ID is still inside the
// stream resumes after it. An events follow whose transitions were trimmed before the feed read
// them gets `resync` and goes on from the task's record. And a queued task that had a log stream
// gets its grace when it is cancelled. Real server, real streams, a fake tracker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseTask, type Claim } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';
import { SseReader, type SseEvent } from './helpers/sse.js';

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

async function open(path: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const res = await fetch(`${base}${path}`, { headers: { ...auth(KEYS.alice), ...headers } });
  expect(res.status).toBe(200);
  return new SseReader(res);
}

/** Each event as [event, id, data] (data parsed), the `log` ones with their text. */
const shown = (events: SseEvent[]): Array<[string, string | null, unknown]> =>
  events.map((e) => [e.event, e.id, e.event === 'resync' ? 'resync' : JSON.parse(e.data)]);

/** A running task that wrote three lines, then had the first two trimmed from its live log. */
async function trimmedTask(): Promise<{ id: string; claim: Claim; lines: string[] }> {
  const id = await submitProbe(api.app, KEYS.alice);
  const claim = await tracker.take();
  expect(claim.taskId).toBe(id);
  const lines = [
    await tracker.log(claim, 'stdout', 'line 1\n'),
    await tracker.log(claim, 'stdout', 'line 2\n'),
    await tracker.log(claim, 'stderr', 'line 3\n'),
  ];
  await api.redis.xtrim(api.keys.log(id), 'MINID', lines[2] as string);
  return { id, claim, lines };
}

const FILES = { 'stdout.txt': 'line 1\nline 2\n', 'stderr.txt': 'line 3\n' };

describe('GET /v1/tasks/:id/logs?follow=1 with a Last-Event-ID the live log lost', () => {
  it('a running task: resync, then the log again from what the stream holds, then the end', async () => {
    const { id, claim, lines } = await trimmedTask();
    const sse = await open(`/v1/tasks/${id}/logs?follow=1`, { 'last-event-id': lines[0] as string });
    const first = await sse.until((e) => e.event === 'log');
    await tracker.finish(claim, 'succeeded', FILES);
    await sse.rest();
    expect(first.id).toBe(lines[2]);
    expect(shown(sse.seen)).toEqual([
      ['resync', null, 'resync'],
      ['log', lines[2], { stream: 'stderr', text: 'line 3\n' }],
      ['end', null, { status: 'succeeded', exitCode: 0, error: null, errorCode: null }],
    ]);
  });

  it('a finished task: resync, then the whole log from its output files; gone or trimmed alike', async () => {
    const { id, claim, lines } = await trimmedTask();
    await tracker.finish(claim, 'succeeded', FILES);
    const expected = [
      ['resync', null, 'resync'],
      ['log', null, { stream: 'stdout', text: 'line 1\nline 2\n' }],
      ['log', null, { stream: 'stderr', text: 'line 3\n' }],
      ['end', null, { status: 'succeeded', exitCode: 0, error: null, errorCode: null }],
    ];
    const trimmed = await open(`/v1/tasks/${id}/logs?follow=1`, { 'last-event-id': lines[0] as string });
    await trimmed.rest();
    expect(shown(trimmed.seen)).toEqual(expected);
    await api.redis.del(api.keys.log(id)); // as when its grace has passed
    const gone = await open(`/v1/tasks/${id}/logs?follow=1`, { 'last-event-id': lines[2] as string });
    await gone.rest();
    expect(shown(gone.seen)).toEqual(expected);
  });

  it('resumes after a Last-Event-ID the stream still holds, with no resync', async () => {
    const { id, claim, lines } = await trimmedTask();
    const fourth = await tracker.log(claim, 'stdout', 'line 4\n');
    await tracker.finish(claim, 'succeeded', FILES);
    const sse = await open(`/v1/tasks/${id}/logs?follow=1`, { 'last-event-id': lines[2] as string });
    await sse.rest();
    expect(shown(sse.seen)).toEqual([
      ['log', fourth, { stream: 'stdout', text: 'line 4\n' }],
      ['end', null, { status: 'succeeded', exitCode: 0, error: null, errorCode: null }],
    ]);
  });
});

describe('GET /v1/tasks/:id/events when transitions were trimmed before they were read', () => {
  it('sends resync and goes on from the task’s record', async () => {
    const id = await submitProbe(api.app, KEYS.alice);
    const claim = await tracker.take();
    const sse = await open(`/v1/tasks/${id}/events`);
    expect(JSON.parse((await sse.until((e) => e.event === 'status')).data).status).toBe('running');
    // The feed's read is blocked waiting for the events stream to grow.
    await waitFor(async () =>
      ((await api.redis.client('LIST')) as string).split('\n').some((c) => /flags=b .*cmd=xread\b/.test(c)),
    );
    // More events at once than the feed reads in a round, the first of them trimmed in the same step.
    const ms = Date.now() + 1000;
    const step = api.redis.multi();
    for (let i = 1; i <= 600; i++) step.xadd(api.keys.events, `${ms}-${i}`, 'noise', String(i));
    step.xtrim(api.keys.events, 'MINID', `${ms}-100`);
    await step.exec();
    await sse.until((e) => e.event === 'resync');
    await tracker.finish(claim, 'succeeded');
    const rest = await sse.rest();
    expect(rest.map((e) => [e.event, JSON.parse(e.data).status])).toEqual([['status', 'succeeded']]);
  });
});

describe('POST /v1/tasks/:id/cancel', () => {
  it('gives the live log of a queued task that ran before its grace', async () => {
    const id = await submitProbe(api.app, KEYS.alice);
    const claim = await tracker.take();
    await tracker.log(claim, 'stdout', 'attempt 1\n');
    await releaseTask(api.redis, api.keys, claim, Date.now(), {
      reason: 'retry later',
      attempt: 'free',
      delayMs: 60_000,
    });
    expect(await api.redis.pttl(api.keys.log(id))).toBe(-1);
    const res = await api.app.inject({
      method: 'POST',
      url: `/v1/tasks/${id}/cancel`,
      headers: auth(KEYS.alice),
    });
    expect(res.json()).toMatchObject({ status: 'cancelled' });
    const ttl = await api.redis.pttl(api.keys.log(id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
