// Preemptible tasks through the `gpufleet` binary and the typed client, against a real API started
// from its configuration. No tracker runs, so the tasks (submitted --wait-for-capacity) stay waiting; their preemptions are written
// into the task hashes the way the tracker's preemption (core's preempt.lua) writes them. Checked:
// `submit --preemptible` reaches the record (and its absence leaves the task not preemptible),
// `--help` names the flag, `status` says preemptible and, once preempted, how often and by which
// task, `ls` marks a preemptible task's priority `*` and explains the mark on stderr only when one
// is shown, `--json` carries the fields, and the client's `submit({ preemptible })` and views.
import { describe, expect, it } from 'vitest';
import { newTaskId } from '@gpufleet/core';
import { GpufleetClient } from '@gpufleet/api-client';
import { parseJson } from './helpers/cli-fleet.js';
import { useWaitingApi } from './helpers/waiting-api.js';

const fleet = useWaitingApi('preempt');
const { redis, token, keys } = fleet;
const cli = (args: string[]) => fleet.cli(args);

async function submitted(args: string[]): Promise<string> {
  // No tracker runs: the tasks are submitted to wait for one (the API refuses them otherwise).
  const result = await cli(['submit', 'probe', '--wait-for-capacity', ...args, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return parseJson<{ tasks: Array<{ id: string }> }>(result).tasks[0]?.id ?? '';
}

/** As preempt.lua writes a victim: the task it was stopped for, and one more preemption. */
async function preempt(id: string, by: string): Promise<void> {
  await redis.server.client().hset(keys.task(id), 'preemptedBy', by);
  await redis.server.client().hincrby(keys.task(id), 'preemptions', 1);
}

describe('gpufleet submit --preemptible and status', () => {
  it('names the flag in its help', async () => {
    const help = await cli(['submit', '--help']);
    expect(help.stdout).toMatch(/--preemptible +may be stopped \(SIGTERM, then a grace\) and requeued/);
  });

  it('submits a preemptible task; status says so, and once preempted how often and by which task', async () => {
    const id = await submitted(['--preemptible', '--name', 'pre-yes']);
    const plain = await submitted(['--name', 'pre-no']);
    const hash = redis.server.client();
    expect(await hash.hget(keys.task(id), 'preemptible')).toBe('1');
    expect(await hash.hget(keys.task(plain), 'preemptible')).not.toBe('1');

    expect((await cli(['status', id])).stdout).toMatch(/^priority: +500, preemptible$/m);
    const plainText = (await cli(['status', plain])).stdout;
    expect(plainText).toMatch(/^priority: +500$/m);
    expect(plainText).not.toMatch(/preempt/);
    expect(parseJson(await cli(['status', id, '--json']))).toMatchObject({
      preemptible: true,
      preemptions: 0,
      preemptedBy: null,
    });
    expect((await cli(['status', id])).stdout).not.toMatch(/^preempted:/m);

    const first = newTaskId(Date.now());
    await preempt(id, first);
    expect((await cli(['status', id])).stdout).toMatch(
      new RegExp(`^priority: +500, preemptible\\npreempted: +1 time, last by ${first}$`, 'm'),
    );
    const second = newTaskId(Date.now() + 1);
    await preempt(id, second);
    expect((await cli(['status', id])).stdout).toMatch(
      new RegExp(`^preempted: +2 times, last by ${second}$`, 'm'),
    );
    expect(parseJson(await cli(['status', id, '--json']))).toMatchObject({
      preemptible: true,
      preemptions: 2,
      preemptedBy: second,
    });
  });
});

describe('gpufleet ls', () => {
  it('marks a preemptible task’s priority `*` and explains the mark on stderr when one is shown', async () => {
    const id = await submitted(['--preemptible', '--name', 'ls-pre', '--priority', '40']);
    const plain = await submitted(['--name', 'ls-plain', '--priority', '40']);
    const both = await cli(['ls', '--name', 'ls-*']);
    expect(both.code, both.stderr).toBe(0);
    const [header, ...rows] = both.stdout.trim().split('\n');
    expect(header).toMatch(/ QUEUE +PRIORITY +CREATED /);
    expect(rows.find((r) => r.startsWith(id))).toMatch(/ queued +probe +default +40\* +\d{4}-/);
    expect(rows.find((r) => r.startsWith(plain))).toMatch(/ queued +probe +default +40 +\d{4}-/);
    expect(both.stderr).toBe('* preemptible: a task of higher priority may stop and requeue it\n');
    // Only unmarked tasks: no note.
    const none = await cli(['ls', '--name', 'ls-plain']);
    expect(none.stdout).toContain(plain);
    expect(none.stderr).toBe('');
    const json = parseJson<{ items: Array<{ id: string; preemptible: boolean; preemptions: number }> }>(
      await cli(['ls', '--name', 'ls-*', '--json']),
    );
    expect(json.items.map((t) => [t.id, t.preemptible, t.preemptions])).toEqual([
      [plain, false, 0],
      [id, true, 0],
    ]);
  });
});

describe('the client', () => {
  it('submits a preemptible task and types its preemptions in the view and the list', async () => {
    const client = new GpufleetClient({ url: fleet.api.url, token });
    const task = await client.submit({
      executer: 'probe',
      name: 'client-pre',
      preemptible: true,
      waitForCapacity: true,
    });
    const plain = await client.submit({
      executer: 'probe',
      name: 'client-pre',
      preemptible: false,
      waitForCapacity: true,
    });
    expect((await task.get()).preemptible).toBe(true);
    expect((await plain.get()).preemptible).toBe(false);
    const by = newTaskId(Date.now());
    await preempt(task.id, by);
    const view = await client.getTask(task.id);
    expect([view.preemptible, view.preemptions, view.preemptedBy]).toEqual([true, 1, by]);
    // Both made in the same millisecond would list in either order: compared by id.
    const page = await client.listTasks({ name: 'client-pre' });
    const items = new Map(page.items.map((t) => [t.id, [t.preemptible, t.preemptions, t.preemptedBy]]));
    expect(Object.fromEntries(items)).toEqual({
      [plain.id]: [false, 0, null],
      [task.id]: [true, 1, by],
    });
  });
});
