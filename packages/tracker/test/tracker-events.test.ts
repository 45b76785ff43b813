// The tracker's events (src/tracker-events.ts) on a real tracker: one task's life is claimed →
// spawned → exited → completed, a shutdown hands a running task back between stopping and
// stopped, and each event is marked (`event: '<name>'`) on the log line that records it; the
// `task` event still comes with spawned and exited; a listener that throws harms no task.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { enqueue, getTask, queueKeys } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs } from '@gpufleet/testkit';
import type { TaskEvent, Tracker, TrackerEventMap } from '@gpufleet/tracker';
import { startTestTracker, useTrackers, waitForFinal } from './helpers/fleet.js';
import { nextEvent, recordEvents } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

type Line = Record<string, unknown>;

/** A one-slot tracker whose log lines (debug and up) are kept in `lines`. */
async function start(
  options: { shutdownGraceMs?: number } = {},
): Promise<{ tracker: Tracker; lines: Line[]; prefix: string }> {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Line) });
  const prefix = uniquePrefix();
  const tracker = await startTestTracker({
    redisUrl: redis.server.url,
    prefix,
    artifactDir: await temp.make(),
    workDir: await temp.make(),
    cpuSlots: 1,
    logger,
    ...options,
  });
  trackers.push(tracker);
  return { tracker, lines, prefix };
}

describe('tracker events', () => {
  it('announces a task’s life, claimed → spawned → exited → completed, each on its log line', async () => {
    const { tracker, lines, prefix } = await start();
    const events = recordEvents(tracker);
    const taskEvents: TaskEvent[] = [];
    tracker.on('task', (event) => taskEvents.push(event));
    const client = redis.server.client();
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'probe', gpus: 0 });
    const completed = await nextEvent(tracker, 'completed', (e) => e.taskId === id);
    expect(completed).toMatchObject({ taskId: id, attempt: 1, status: 'succeeded' });

    const life = events.filter((e) => 'taskId' in e.payload && e.payload.taskId === id);
    expect(life.map((e) => e.name)).toEqual(['claimed', 'spawned', 'exited', 'completed']);
    const [claimed, spawned, exited] = life.map((e) => e.payload);
    const stream = queueKeys(prefix, 'default').tasks(0);
    expect(claimed).toEqual({ taskId: id, attempt: 1, stream, gpus: 0, suspect: false });
    expect(spawned).toMatchObject({ taskId: id, attempt: 1, pid: expect.any(Number) as unknown });
    expect(exited).toMatchObject({ taskId: id, attempt: 1, exitCode: 0 });
    // The `task` event comes with spawned and exited, as before.
    const { pid, at } = spawned as TrackerEventMap['spawned'];
    expect(taskEvents).toEqual([
      { type: 'spawned', taskId: id, attempt: 1, pid, at },
      { type: 'exited', ...(exited as TrackerEventMap['exited']) },
    ]);

    // Each on the line that already records it, none on a line of its own (claimed's is debug).
    const marked = lines.filter((l) => l.taskId === id && l.event !== undefined);
    expect(marked.map((l) => [l.event, l.msg])).toEqual([
      ['claimed', 'task claimed'],
      ['spawned', 'executer started'],
      ['exited', 'executer exited'],
      ['completed', 'task ended'],
    ]);
    expect(marked.find((l) => l.event === 'claimed')?.level).toBe(20);
    expect(lines.find((l) => l.event === 'started')).toMatchObject({ msg: 'tracker started' });
  });

  it('announces a task handed back at shutdown between stopping and stopped, on their log lines', async () => {
    const { tracker, lines, prefix } = await start({ shutdownGraceMs: 200 });
    const client = redis.server.client();
    const { id } = await enqueue(
      { redis: client, prefix },
      { executer: 'probe', gpus: 0, params: { sleepMs: 60_000 } },
    );
    await nextEvent(tracker, 'spawned', (e) => e.taskId === id);
    // What the attempt and the close announce (not the sweep's, which may run meanwhile).
    const events = recordEvents(tracker, [
      'stopping',
      'exited',
      'completed',
      'lost',
      'handed-back',
      'stopped',
    ]);
    await tracker.close();

    expect(events.map((e) => e.name)).toEqual(['stopping', 'exited', 'handed-back', 'stopped']);
    expect(events[0]?.payload).toEqual({ running: 1 });
    expect(events[2]?.payload).toMatchObject({ taskId: id, attempt: 1, handedBack: true, started: true });
    expect(events[2]?.payload).toHaveProperty(
      'reason',
      expect.stringMatching(/shut down before the task finished/),
    );
    expect(lines.find((l) => l.event === 'handed-back')).toMatchObject({
      msg: 'task handed back to the queue',
      taskId: id,
      handedBack: true,
    });
    expect(lines.find((l) => l.event === 'stopped')).toMatchObject({ msg: 'tracker stopped' });
    expect(await getTask(client, queueKeys(prefix, 'default'), id)).toMatchObject({ status: 'queued' });
  });

  it('runs the task when a listener throws, and logs what the listener threw', async () => {
    const { tracker, lines, prefix } = await start();
    tracker.on('claimed', () => {
      throw new Error('a careless listener');
    });
    const client = redis.server.client();
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop-fast' });
    expect((await waitForFinal(client, queueKeys(prefix, 'default'), id)).status).toBe('succeeded');
    expect(lines.find((l) => l.msg === 'a tracker event listener threw')).toMatchObject({
      listenerOf: 'claimed',
      err: { message: 'a careless listener' },
    });
  });
});
