// Task priority and fair share through the `gpufleet` binary and the typed client, against a real
// API started from its configuration (GPUFLEET_DEFAULT_PRIORITY, GPUFLEET_QUEUE_PRIORITIES,
// GPUFLEET_MAX_RUNNING_GPUS, GPUFLEET_FAIRSHARE_HALF_LIFE_MS) and a keys file giving alice a
// fair-share weight of 2. No tracker runs, so the tasks (submitted --wait-for-capacity) stay waiting: `submit --priority` (checked
// before anything is sent), the queue's default, `status` (priority, why it waits, its place),
// `ls` (the PRIORITY column), `priority ID N` (old → new; exit 2, 4 and 1 for a bad priority, a
// missing task and one that no longer waits), `queues` (weight, GPU quota, usage) and the client's
// `submit({ priority })` and `setPriority`.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HALF_LIFE_FIELD, newTaskId, publishCatalog, queueKeys, silentLogger } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs } from '@gpufleet/testkit';
import { hashApiKey, loadApiConfig, newApiKey, startApiServer, type ApiServer } from '@gpufleet/api';
import { ApiRequestError, GpufleetClient } from '@gpufleet/api-client';
import { parseJson, runCli, WAITING_PROBE } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const prefix = uniquePrefix('prio');
const alice = newApiKey();
let api: ApiServer;
let home: string;

beforeAll(async () => {
  home = await temp.make();
  const keysFile = join(home, 'keys.json');
  await writeFile(
    keysFile,
    JSON.stringify({
      keys: [{ name: 'alice', tenant: 'alice', role: 'user', sha256: hashApiKey(alice) }],
      tenants: { alice: { weight: 2 } },
    }),
  );
  api = await startApiServer(
    loadApiConfig({
      REDIS_URL: redis.server.url,
      GPUFLEET_PREFIX: prefix,
      ARTIFACT_STORE: join(home, 'artifacts'),
      GPUFLEET_API_PORT: '0',
      GPUFLEET_API_KEYS_FILE: keysFile,
      GPUFLEET_DEFAULT_PRIORITY: '300',
      GPUFLEET_QUEUE_PRIORITIES: 'urgent=800',
      GPUFLEET_MAX_RUNNING_GPUS: '0',
      GPUFLEET_FAIRSHARE_HALF_LIFE_MS: '120000',
      LOG_LEVEL: 'silent',
    }),
    silentLogger(),
  );
  for (const queue of ['default', 'urgent'])
    await publishCatalog(redis.server.client(), queueKeys(prefix, queue), [WAITING_PROBE]);
});
afterAll(async () => {
  await api?.close();
});

const cli = (args: string[]) =>
  runCli(args, {
    env: { PATH: process.env.PATH ?? '', HOME: home, GPUFLEET_API_URL: api.url, GPUFLEET_TOKEN: alice },
  });

async function submitted(args: string[]): Promise<string> {
  // No tracker runs: the tasks are submitted to wait for one (the API refuses them otherwise).
  const result = await cli(['submit', 'probe', '--wait-for-capacity', ...args, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return parseJson<{ tasks: Array<{ id: string }> }>(result).tasks[0]?.id ?? '';
}

async function status(
  id: string,
): Promise<{ priority: number; waitReason: string | null; queuePosition: number | null }> {
  return parseJson(await cli(['status', id, '--json']));
}

describe('gpufleet submit --priority, status and ls', () => {
  it('sets the priority, else the queue’s default; status says why the task waits and where', async () => {
    const low = await submitted([]);
    const high = await submitted(['--priority', '900']);
    const urgent = await submitted(['--queue', 'urgent']);
    const gpu = await submitted(['--gpus', '1', '--priority', '0']);
    expect(await status(low)).toMatchObject({ priority: 300, waitReason: 'Priority', queuePosition: 1 });
    expect(await status(high)).toMatchObject({ priority: 900, waitReason: 'Resources', queuePosition: 0 });
    expect((await status(urgent)).priority).toBe(800);
    // GPUFLEET_MAX_RUNNING_GPUS=0: no GPU task of alice's may start.
    expect(await status(gpu)).toMatchObject({ priority: 0, waitReason: 'Quota', queuePosition: 2 });
    expect((await cli(['status', low])).stdout).toMatch(/^priority: +300\nwaits: +Priority, position 1$/m);
    expect((await cli(['status', urgent])).stdout).toMatch(/^waits: +Resources, position 0$/m);
    const table = await cli(['ls', '--queue', 'default']);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^ID +NAME +STATUS +EXECUTER +QUEUE +PRIORITY +CREATED /);
    expect(rows.find((r) => r.startsWith(high))).toMatch(/ queued +probe +default +900 /);
    // The half-life was written for the trackers with the tasks.
    expect(await redis.server.client().hget(queueKeys(prefix, 'default').tenantUsage, HALF_LIFE_FIELD)).toBe(
      '120000',
    );
  });

  it('refuses a priority out of range before sending anything (exit 2)', async () => {
    const index = queueKeys(prefix, 'default').index;
    const before = await redis.server.client().zcard(index);
    for (const bad of ['1001', '-1', 'high', '2.5']) {
      const result = await cli(['submit', 'probe', '--priority', bad]);
      expect(result.code, bad).toBe(2);
      expect(result.stderr).toContain('--priority wants a whole number from 0 to 1000');
    }
    expect(await redis.server.client().zcard(index)).toBe(before);
  });
});

describe('gpufleet priority ID N', () => {
  it('prints the old and the new priority, and the task moves in line', async () => {
    const first = await submitted(['--queue', 'urgent']);
    const id = await submitted(['--queue', 'urgent', '--priority', '10']);
    expect((await status(id)).queuePosition).toBeGreaterThan(0);
    const result = await cli(['priority', id, '950']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${id} priority 10 → 950\n`);
    expect(await status(id)).toMatchObject({ priority: 950, queuePosition: 0, waitReason: 'Resources' });
    expect((await status(first)).waitReason).toBe('Priority');
    const json = parseJson<unknown>(await cli(['priority', id, '5', '--json']));
    expect(json).toEqual({ id, priority: 5, previous: 950 });
  });

  it('exits 2 for a bad priority, 4 for a missing task, 1 for a task that no longer waits', async () => {
    const id = await submitted([]);
    const bad = await cli(['priority', id, '1001']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('wants a whole number from 0 to 1000');
    expect((await cli(['priority', newTaskId(Date.now()), '5'])).code).toBe(4);
    expect((await cli(['cancel', id])).code).toBe(0);
    const ended = await cli(['priority', id, '5']);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain(
      'gpufleet: the task is cancelled: only a queued task can change its priority',
    );
    expect((await status(id)).priority).toBe(300);
  });
});

describe('gpufleet queues and the client', () => {
  it('shows the tenant’s weight, GPU quota and usage', async () => {
    const result = await cli(['queues', '--queue', 'default']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /QUEUE +TENANT +WAITING +RUNNING +GPUS +WEIGHT +GPU QUOTA +USAGE\n *default +alice +\d+ +0 +0 +2 +0 +0 GPU-h/,
    );
  });

  it('submits with a priority, changes it with setPriority and types why a task waits', async () => {
    const client = new GpufleetClient({ url: api.url, token: alice });
    const task = await client.submit({
      executer: 'probe',
      queue: 'urgent',
      priority: 0,
      waitForCapacity: true,
    });
    const view = await task.get();
    expect([view.priority, view.waitReason]).toEqual([0, 'Priority']);
    expect(await client.setPriority(task.id, 1000)).toEqual({ id: task.id, priority: 1000, previous: 0 });
    expect((await client.getTask(task.id)).waitReason).toBe('Resources');
    await task.cancel();
    const error = await client.setPriority(task.id, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiRequestError);
    expect(error).toMatchObject({ code: 'TASK_NOT_WAITING', status: 409, details: { status: 'cancelled' } });
  });
});
