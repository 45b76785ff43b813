// A task's name and tags through the `gpufleet` binary and the typed client, against a real fleet:
// `submit --name --tag` → `status` → `ls` (the NAME and TAGS columns, --json, `--name` and
// `--tag` filters), a malformed `--tag` refused before anything is sent (exit 2), a bad tag key
// refused by the API naming the field, and the client's `submit` and `tasks({ name, tags })`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { ApiRequestError, GpufleetClient } from '@gpufleet/api-client';
import { parseJson, runCli, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;
let client: GpufleetClient;

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
  client = new GpufleetClient({ url: fleet.url, token: fleet.token });
});
afterAll(async () => {
  await fleet?.close();
});

interface Listed {
  id: string;
  name: string | null;
  tags: Record<string, string>;
}

const cli = (args: string[]) => runCli(args, { env: fleet.env });

async function listJson(args: string[]): Promise<Listed[]> {
  return parseJson<{ items: Listed[] }>(await cli(['ls', '--all', '--json', ...args])).items;
}

describe('gpufleet submit --name --tag', () => {
  it('labels the task; status and ls show the labels, ls filters by them', async () => {
    const submitted = await cli([
      'submit',
      'probe',
      '--name',
      'lr sweep 7',
      '--tag',
      'sweep=lr',
      '--tag',
      'owner=ada',
      '--tag',
      'note=a=b',
      '--json',
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const [task] = parseJson<{ tasks: Array<{ id: string }> }>(submitted).tasks;
    const id = task?.id ?? '';
    const other = parseJson<{ tasks: Array<{ id: string }> }>(
      await cli(['submit', 'probe', '--name', 'lr sweep 8', '--tag', 'sweep=lr', '--json']),
    ).tasks[0]?.id;

    const status = parseJson<Listed>(await cli(['status', id, '--json']));
    expect(status).toMatchObject({
      id,
      name: 'lr sweep 7',
      tags: { sweep: 'lr', owner: 'ada', note: 'a=b' },
    });
    const text = await cli(['status', id]);
    expect(text.stdout).toMatch(/^name: +lr sweep 7$/m);
    expect(text.stdout).toMatch(/^tags: +note=a=b owner=ada sweep=lr$/m);

    expect((await listJson(['--name', 'lr sweep 7'])).map((t) => t.id)).toEqual([id]);
    expect((await listJson(['--name', 'lr sweep*'])).map((t) => t.id)).toEqual([other, id]);
    expect((await listJson(['--tag', 'sweep=lr'])).map((t) => t.id)).toEqual([other, id]);
    expect((await listJson(['--tag', 'sweep=lr', '--tag', 'owner=ada'])).map((t) => t.id)).toEqual([id]);
    expect((await listJson(['--tag', 'owner'])).map((t) => t.id)).toEqual([id]);
    expect(await listJson(['--tag', 'sweep=lr', '--tag', 'owner=bob'])).toEqual([]);
    expect((await listJson(['--tag', 'sweep=lr']))[1]).toMatchObject({
      name: 'lr sweep 7',
      tags: { sweep: 'lr', owner: 'ada', note: 'a=b' },
    });

    const table = await cli(['ls', '--tag', 'sweep=lr']);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^ID +NAME +STATUS .* TAGS +ERROR$/);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(new RegExp(`^${id} +lr sweep 7 +\\w+ +probe .*note=a=b owner=ada sweep=lr`));
  });

  it('refuses a --tag without "=" before sending anything (exit 2)', async () => {
    const before = (await listJson([])).length;
    const result = await cli(['submit', 'probe', '--name', 'never', '--tag', 'sweep', '--json']);
    expect(result.code).toBe(2);
    expect(parseJson<{ error: { code: string; message: string } }>(result).error).toEqual({
      code: 'USAGE',
      message: '--tag wants KEY=VALUE (got "sweep")',
      details: {},
    });
    const plain = await cli(['submit', 'probe', '--tag', '=x']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('--tag wants KEY=VALUE (got "=x")');
    expect((await listJson([])).length).toBe(before);
    expect(await listJson(['--name', 'never'])).toEqual([]);
  });

  it('passes on the API’s refusal of a bad tag key, naming the field (exit 2)', async () => {
    const result = await cli(['submit', 'probe', '--tag', 'my key=x', '--json']);
    expect(result.code).toBe(2);
    const body = parseJson<{ error: { code: string; details: { issues: Array<{ field: string }> } } }>(
      result,
    );
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.details.issues.map((i) => i.field)).toEqual(['tags.my key']);
  });
});

describe('GpufleetClient', () => {
  it('submits a name and tags and lists by them across pages', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const task = await client.submit({
        executer: 'probe',
        name: `client-${i}`,
        tags: { via: 'client', i: String(i) },
      });
      ids.push(task.id);
    }
    expect(await client.getTask(ids[1] ?? '')).toMatchObject({
      name: 'client-1',
      tags: { via: 'client', i: '1' },
    });
    const listed: string[] = [];
    for await (const t of client.tasks({ name: 'client-*', tags: { via: 'client', i: true } }))
      listed.push(t.id);
    expect(listed).toEqual([...ids].reverse());
    const one: string[] = [];
    for await (const t of client.tasks({ tags: { via: 'client', i: '2' } })) one.push(t.id);
    expect(one).toEqual([ids[2]]);
    const page = await client.listTasks({ tag: ['via=client'], limit: 2 });
    expect(page.items.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    expect(page.nextCursor).not.toBeNull();
    const next = await client.listTasks({
      tag: ['via=client'],
      limit: 2,
      cursor: page.nextCursor ?? undefined,
    });
    expect(next.items.map((t) => t.id)).toEqual([ids[0]]);
  });

  it('gets the API’s refusal of too many tags as a VALIDATION_FAILED naming the field', async () => {
    const tags = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    const error = await client.submit({ executer: 'probe', tags }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiRequestError);
    expect((error as ApiRequestError).code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify((error as ApiRequestError).details)).toContain('"field":"tags"');
  });
});
