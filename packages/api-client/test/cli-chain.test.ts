// `gpufleet submit --runs N --chain` on a real fleet with four free GPUs: the runs start one after
// another, each when the one before has ended (a failed run included: SLURM's afterany), although
// the tracker could run them all at once; the chain is the fleet's, so the command may exit at once
// and the runs still follow each other. `--after ID` makes a task wait for another; a malformed id
// is refused before anything is submitted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import type { TaskView } from '../src/generated/api-types.js';
import { parseJson, runCli, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
});
afterAll(async () => {
  await fleet?.close();
});

const cli = (args: string[]) => runCli(args, { env: fleet.env });

async function views(ids: string[]): Promise<TaskView[]> {
  return Promise.all(ids.map(async (id) => parseJson<TaskView>(await cli(['status', id, '--json']))));
}

function expectOneAfterAnother(tasks: TaskView[]): void {
  for (const [i, task] of tasks.entries()) {
    const before = tasks[i - 1];
    if (!before) continue;
    expect(task.after).toBe(before.id);
    expect(
      Date.parse(task.startedAt ?? ''),
      `run ${i + 1} started after run ${i} ended`,
    ).toBeGreaterThanOrEqual(Date.parse(before.endedAt ?? ''));
  }
}

describe('gpufleet submit --chain', () => {
  it('runs N runs one after another, a failed one included, though the GPUs could run them at once', async () => {
    const submitted = await cli(['submit', 'probe', '--runs', '3', '--chain', '-p', 'sleepMs=400', '--wait']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const ids = submitted.stdout.trim().split('\n');
    expect(ids).toHaveLength(3);
    const tasks = await views(ids);
    expect(tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(tasks[0]?.after).toBeNull();
    expectOneAfterAnother(tasks);

    // A failed run does not stop the chain; the command that made it need not wait.
    const failing = await cli(['submit', 'probe', '--runs', '2', '--chain', '-p', 'exitCode=3']);
    expect(failing.code, failing.stderr).toBe(0);
    const [first = '', second = ''] = failing.stdout.trim().split('\n');
    const waited = await cli(['wait', first, second]);
    expect(waited.code).toBe(1);
    const ended = await views([first, second]);
    expect(ended.map((t) => t.status)).toEqual(['failed', 'failed']);
    expectOneAfterAnother(ended);
  });

  it('makes a task wait for another with --after, and refuses a malformed id before submitting', async () => {
    const long = await cli(['submit', 'probe', '-p', 'sleepMs=600']);
    const longId = long.stdout.trim();
    const next = await cli(['submit', 'probe', '--after', longId]);
    expect(next.code, next.stderr).toBe(0);
    const nextId = next.stdout.trim();
    const held = parseJson<TaskView>(await cli(['status', nextId, '--json']));
    if (held.status === 'queued') expect(held.waitReason).toBe('Dependency');
    expect((await cli(['status', nextId])).stdout).toMatch(
      new RegExp(`^after: +${longId} \\(starts once that task has ended\\)$`, 'm'),
    );
    expect((await cli(['wait', nextId])).code).toBe(0);
    expectOneAfterAnother(await views([longId, nextId]));

    const listed = parseJson<{ items: unknown[] }>(await cli(['ls', '--json']));
    const refused = await cli(['submit', 'probe', '--after', 'not-a-task']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--after must be a task id/);
    expect(parseJson<{ items: unknown[] }>(await cli(['ls', '--json'])).items).toHaveLength(
      listed.items.length,
    );
  });
});
