// Archived tasks (they ended long enough ago to leave Redis) through the `gpufleet` binary and the
// typed client, against a real fleet: a task runs on the real tracker, is archived with core's
// archiveTask in the fleet's local store and its keys are deleted as the retention sweep deletes
// them. Then `status` shows when it was archived, `logs` reads its output files, `ls --archived`
// (`--since`, `--from`) lists it where `ls` no longer does, range flags without --archived bound
// the creation time, a range the API refuses exits 2, and the client's `getTask` and `archivedTasks` find it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveTask, LocalArtifactStore, parseTaskRecord, queueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { GpufleetClient } from '@gpufleet/api-client';
import { parseJson, runCli, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;
let id: string;
const archivedAt = Date.now();

const cli = (args: string[]) => runCli(args, { env: fleet.env });

interface Listed {
  id: string;
  status: string;
  archived: boolean;
  archivedAt: number | null;
}

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
  const submitted = await cli(['submit', 'probe', '--name', 'old run', '--json']);
  expect(submitted.code, submitted.stderr).toBe(0);
  id = parseJson<{ tasks: Array<{ id: string }> }>(submitted).tasks[0]?.id ?? '';
  expect((await cli(['wait', id])).code).toBe(0);
  // As the retention sweep does it: the record into the archive, then its keys out of Redis.
  const connection = redis.server.client();
  const keys = queueKeys(fleet.prefix, 'default');
  const record = parseTaskRecord(await connection.hgetall(keys.task(id)));
  if (!record) throw new Error(`no task ${id} in Redis`);
  await archiveTask(new LocalArtifactStore(join(fleet.dir, 'artifacts')), record, archivedAt);
  await connection.del(keys.task(id), keys.log(id));
  await connection.zrem(keys.index, id);
});
afterAll(async () => {
  await fleet?.close();
});

describe('gpufleet and an archived task', () => {
  it('status shows when it was archived; logs come from its output files', async () => {
    const text = await cli(['status', id]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^status: +succeeded$/m);
    expect(text.stdout).toMatch(/^archived: +\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/m);
    const json = parseJson<Listed>(await cli(['status', id, '--json']));
    expect(json).toMatchObject({ id, status: 'succeeded', archived: true, archivedAt });

    const logs = await cli(['logs', id]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain(`probe ${id} starting`);
  });

  it('a task in Redis has no archived line', async () => {
    const live = parseJson<{ tasks: Array<{ id: string }> }>(await cli(['submit', 'probe', '--json']))
      .tasks[0]?.id;
    expect((await cli(['wait', live ?? ''])).code).toBe(0);
    const text = await cli(['status', live ?? '']);
    expect(text.stdout).toMatch(/^status: +succeeded$/m);
    expect(text.stdout).not.toMatch(/^archived:/m);
  });

  it('ls --archived lists it by range; plain ls no longer does', async () => {
    const since = parseJson<{ items: Listed[] }>(await cli(['ls', '--archived', '--since', '2d', '--json']));
    expect(since.items.map((t) => [t.id, t.archived])).toEqual([[id, true]]);
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const from = parseJson<{ items: Listed[] }>(
      await cli(['ls', '--archived', '--from', yesterday, '--json']),
    );
    expect(from.items.map((t) => t.id)).toEqual([id]);
    const before = await cli(['ls', '--archived', '--from', yesterday, '--to', `${yesterday}T00:00:01Z`]);
    expect([before.code, before.stdout]).toEqual([0, '']);
    expect(before.stderr).toContain('no archived tasks');

    const table = await cli(['ls', '--archived', '--from', today]);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^ID +NAME +STATUS/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(new RegExp(`^${id} +old run +succeeded +probe`));

    const live = parseJson<{ items: Listed[] }>(await cli(['ls', '--all', '--json']));
    expect(live.items.map((t) => t.id)).not.toContain(id);
  });

  it('range flags without --archived bound creation; a range the API refuses is a usage error (exit 2)', async () => {
    const recent = parseJson<{ items: Listed[] }>(await cli(['ls', '--since', '2d', '--json']));
    expect(recent.items.map((t) => t.id)).not.toContain(id); // archived: not in Redis
    const none = parseJson<{ items: Listed[] }>(await cli(['ls', '--to', '2020-01-01', '--json']));
    expect(none.items).toEqual([]);
    const backwards = await cli(['ls', '--from', '2024-05-02', '--to', '2024-05-01']);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('query.to');
    const both = await cli(['ls', '--archived', '--since', '2d', '--from', '2024-05-01']);
    expect(both.code).toBe(2);
    const long = await cli(['ls', '--archived', '--since', '40d']);
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('query.from');
  });

  it('the client reads it by id and lists it', async () => {
    const client = new GpufleetClient({ url: fleet.url, token: fleet.token });
    expect(await client.getTask(id)).toMatchObject({ id, archived: true, archivedAt });
    const listed: string[] = [];
    for await (const task of client.archivedTasks({
      from: new Date(Date.now() - 3_600_000),
      status: 'succeeded',
    }))
      listed.push(task.id);
    expect(listed).toEqual([id]);
    const failed: string[] = [];
    for await (const task of client.archivedTasks({ from: Date.now() - 3_600_000, status: 'failed' }))
      failed.push(task.id);
    expect(failed).toEqual([]);
  });
});
