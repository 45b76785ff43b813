// The client's side of the dashboard's routes, on a real fleet whose API has the admin token
// (tenant `default`) and a user key of tenant alice: `me()`, `tasks({ tenant })` (another tenant's
// or every tenant's for the admin, a 403 for alice; `gpufleet ls --tenant`), `downloadLink()` (a link fetched with no key
// gives the file, or the zip), and `trackers()` and `gpufleet trackers` for a user key, which show
// where another tenant's task runs without its id.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { hashApiKey, newApiKey } from '@gpufleet/api';
import { ApiRequestError, GpufleetClient, type TaskSummary } from '@gpufleet/api-client';
import { runCli, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const aliceKey = newApiKey();
let fleet: CliFleet;
let admin: GpufleetClient;
let alice: GpufleetClient;
/** alice's finished task, with outputs. */
let done: string;

beforeAll(async () => {
  const keysFile = join(await temp.make(), 'keys.json');
  await writeFile(
    keysFile,
    JSON.stringify({
      keys: [{ name: 'alice-laptop', tenant: 'alice', role: 'user', sha256: hashApiKey(aliceKey) }],
    }),
  );
  fleet = await startCliFleet(redis.server, temp, { apiEnv: { GPUFLEET_API_KEYS_FILE: keysFile } });
  admin = new GpufleetClient({ url: fleet.url, token: fleet.token });
  alice = new GpufleetClient({ url: fleet.url, token: aliceKey });
  const task = await alice.submit({ executer: 'probe', params: { files: { 'result.txt': 'from alice' } } });
  expect((await task.wait()).status).toBe('succeeded');
  done = task.id;
});
afterAll(async () => {
  await fleet?.close();
});

async function all(tasks: AsyncIterable<TaskSummary>): Promise<TaskSummary[]> {
  const list: TaskSummary[] = [];
  for await (const task of tasks) list.push(task);
  return list;
}

describe('GpufleetClient for the dashboard', () => {
  it('me(): the key’s tenant, role and name', async () => {
    expect(await alice.me()).toEqual({ tenant: 'alice', role: 'user', keyName: 'alice-laptop' });
    expect(await admin.me()).toEqual({ tenant: 'default', role: 'admin', keyName: 'GPUFLEET_API_TOKEN' });
  });

  it('tasks({ tenant }): another tenant’s or every tenant’s for an admin key, a 403 for a user key', async () => {
    const own = (await admin.submit({ executer: 'probe', params: { sleepMs: 60_000 } })).id;
    expect((await all(admin.tasks({ tenant: 'alice' }))).map((t) => [t.id, t.tenant])).toEqual([
      [done, 'alice'],
    ]);
    const everyone = await all(admin.tasks({ tenant: '*' }));
    expect(everyone.map((t) => t.id)).toEqual(expect.arrayContaining([own, done]));
    expect(new Set(everyone.map((t) => t.tenant))).toEqual(new Set(['alice', 'default']));
    expect((await all(admin.tasks())).map((t) => t.id)).not.toContain(done);
    await expect(all(alice.tasks({ tenant: '*' }))).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN' });
    await expect(all(alice.tasks({ tenant: 'default' }))).rejects.toBeInstanceOf(ApiRequestError);
    // The command: `gpufleet ls --tenant '*'` says whose each task is.
    const listed = await runCli(['ls', '--tenant', '*'], { env: fleet.env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^TENANT +ID/);
    expect(listed.stdout).toMatch(new RegExp(`\\nalice +${done}`));
    expect(listed.stdout).toMatch(new RegExp(`\\ndefault +${own}`));
    await admin.cancel(own);
  });

  it('downloadLink(): a url that downloads the file, or the zip, with no key', async () => {
    const link = await alice.downloadLink(done, { path: 'result.txt' });
    expect(Date.parse(link.expiresAt)).toBeGreaterThan(Date.now());
    const file = await fetch(new URL(link.url, fleet.url));
    expect(file.status).toBe(200);
    expect(await file.text()).toBe('from alice');
    const zipLink = await alice.downloadLink(done, { zip: true });
    const zip = await fetch(new URL(zipLink.url, fleet.url));
    expect([zip.status, zip.headers.get('content-type')]).toEqual([200, 'application/zip']);
    expect(
      Buffer.from(await zip.arrayBuffer())
        .subarray(0, 2)
        .toString(),
    ).toBe('PK');
    await expect(alice.downloadLink(done, { path: 'nope.txt' })).rejects.toMatchObject({
      status: 404,
      code: 'OUTPUT_NOT_FOUND',
    });
  });

  it('trackers() and `gpufleet trackers` for a user key: another tenant’s task shown without its id', async () => {
    const busy = await admin.submit({ executer: 'probe', params: { sleepMs: 30_000 } });
    try {
      const gpusOf = async (client: GpufleetClient) =>
        (await client.trackers()).trackers.flatMap((t) => t.gpus);
      // The tracker publishes what runs on its GPUs at its heartbeat.
      const held = await waitFor(async () => (await gpusOf(admin)).find((g) => g.taskId === busy.id), {
        message: 'the admin’s task on a GPU',
      });
      expect(held).toMatchObject({ tenant: 'default', othersTask: false });
      expect((await gpusOf(alice)).find((g) => g.id === held?.id)).toMatchObject({
        taskId: null,
        tenant: null,
        othersTask: true,
      });
      const env = { ...fleet.env, GPUFLEET_TOKEN: aliceKey };
      const { code, stdout, stderr } = await runCli(['trackers'], { env });
      expect(code, stderr).toBe(0);
      expect(stdout).toMatch(
        new RegExp(`^${fleet.tracker.name} +${held?.id} .* another tenant’s task$`, 'm'),
      );
      expect(stdout).toMatch(/ 1\/4 busy /);
      expect(stdout).not.toContain(busy.id);
    } finally {
      await admin.cancel(busy.id);
    }
  });
});
