// Resource profiles: a profile's `device`, `host`, `env` and `slurm` settings, checked when the
// config file is read (every bad field named at once) and applied by `gpufleet submit --profile`,
// against a real fleet (Redis, the API, a tracker with four GPUs on the default queue). A profile
// for a SLURM queue no live tracker serves here is submitted --wait-for-capacity and its task read
// back (the view through `status --json`, the env line and SLURM resources from the task record in
// Redis, which the view does not show); profiles for the default queue run to the end. A bad
// profile submits nothing and exits 2, naming the file and each field.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTaskRecord, publishCatalog, queueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { ConfigFileError, GpufleetClient, NoApiConfiguredError } from '@gpufleet/api-client';
import { resolveConnection } from '@gpufleet/api-client/node';
import type { TaskView } from '../src/generated/api-types.js';
import {
  parseJson,
  runCli,
  startCliFleet,
  WAITING_PROBE,
  writeFiles,
  type CliFleet,
} from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;
/** A folder holding the good profiles' gpufleet.json. */
let dir: string;

const SLURM_QUEUE = 'slurm-a100';
const EMPTY_QUEUE = 'slurm-empty';
const ENV_LINE = 'module load cuda/12; source ~/venv/bin/activate';

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
  // The SLURM queues offer the executer (as a SLURM tracker would publish it) but no tracker runs here.
  for (const queue of [SLURM_QUEUE, 'slurm-other', EMPTY_QUEUE])
    await publishCatalog(redis.server.client(), queueKeys(fleet.prefix, queue), [WAITING_PROBE]);
  dir = await temp.make();
  const connection = { apiUrl: fleet.url, token: fleet.token };
  await writeFiles(dir, {
    'gpufleet.json': JSON.stringify({
      profiles: {
        big: {
          ...connection,
          queue: SLURM_QUEUE,
          env: ENV_LINE,
          slurm: {
            time: '1-02:30:00',
            partition: 'gpu',
            account: 'lab-1',
            mem: '64G',
            'cpus-per-task': 8,
            gres: 'gpu:a100:2',
          },
        },
        quick: { ...connection, device: 'gpu', slurm: { time: '0:30', gres: 'gpu:2', partition: 'short' } },
        cpu: { host: fleet.url, token: fleet.token, device: 'cpu', slurm: { time: '5' } },
      },
    }),
  });
});
afterAll(async () => {
  await fleet?.close();
});

/** The CLI with no API in its environment: the profile gives it. */
const cli = (args: string[], cwd = dir) =>
  runCli(args, { env: { PATH: fleet.env.PATH, HOME: fleet.env.HOME }, cwd });

/** `gpufleet status ID --json` through the fleet's environment. */
const status = (id: string) => runCli(['status', id, '--json'], { env: fleet.env });

async function submittedId(args: string[]): Promise<string> {
  const result = await cli([...args, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return parseJson<{ tasks: Array<{ id: string }> }>(result).tasks[0]?.id ?? '';
}

async function record(queue: string, id: string) {
  const found = parseTaskRecord(await redis.server.client().hgetall(queueKeys(fleet.prefix, queue).task(id)));
  if (!found) throw new Error(`no task ${id} in queue ${queue}`);
  return found;
}

describe('a profile’s resource settings', () => {
  it('are all checked when the config file is read, each bad one named', async () => {
    const bad = await temp.make();
    await writeFiles(bad, {
      'gpufleet.json': JSON.stringify({
        profiles: {
          big: {
            apiUrl: 'http://x.example',
            timeLimit: '1h',
            env: 'conda activate deep\nrm -rf ~',
            slurm: { time: '1:2:3:4', gres: 'mps:1', nodes: 2, mem: '16GB', 'cpus-per-task': 0 },
          },
          cpu: { device: 'cpu', slurm: { gres: 'gpu:2' } },
          twice: {
            gpus: 1,
            timeLimit: '1h',
            host: 'http://a.example',
            apiUrl: 'http://b.example',
            slurm: { time: '10', gres: 'gpu:a100:0' },
          },
          odd: { device: 'tpu', env: '', slurm: { gres: 'gpu:x:y:z', partition: 'a b' } },
          disagree: { gpus: 1, device: 'gpu', slurm: { gres: 'gpu:4' } },
        },
      }),
    });
    const error = await resolveConnection({ cwd: bad, env: { HOME: bad } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigFileError);
    const { file, issues } = error as ConfigFileError;
    expect(file).toBe(join(bad, 'gpufleet.json'));
    expect(issues.map((i) => i.field).sort()).toEqual([
      'profiles.big.env',
      'profiles.big.slurm.cpus-per-task',
      'profiles.big.slurm.gres',
      'profiles.big.slurm.mem',
      'profiles.big.slurm.nodes',
      'profiles.big.slurm.time',
      'profiles.cpu.device',
      'profiles.disagree.slurm.gres',
      'profiles.odd.device',
      'profiles.odd.env',
      'profiles.odd.slurm.gres',
      'profiles.odd.slurm.partition',
      'profiles.twice.host',
      'profiles.twice.slurm.gres',
      'profiles.twice.slurm.time',
    ]);
    const reason = (field: string) => issues.find((i) => i.field === field)?.reason;
    expect(reason('profiles.big.slurm.gres')).toMatch(/the fleet schedules only GPUs/);
    expect(reason('profiles.big.slurm.nodes')).toMatch(
      /known: time, partition, account, mem, cpus-per-task, gres/,
    );
    expect(reason('profiles.big.env')).toMatch(/one line/);
    expect(reason('profiles.cpu.device')).toMatch(/"cpu" runs tasks without GPUs, but slurm.gres asks for 2/);
    expect(reason('profiles.twice.slurm.time')).toMatch(/given twice/);
    expect(reason('profiles.disagree.slurm.gres')).toMatch(/asks for 4 GPU\(s\), but gpus is 1/);
  });

  it('resolve host "local" to the local fleet, a URL host as apiUrl, and give the task defaults', async () => {
    const home = await temp.make();
    await writeFiles(home, {
      '.gpufleet/local-api.json': JSON.stringify({
        apiUrl: 'http://127.0.0.1:43210',
        tokenFile: 'local-token',
        pid: 1,
      }),
      '.gpufleet/local-token': 'local-secret\n',
      'gpufleet.json': JSON.stringify({
        profiles: {
          big: {
            host: 'local',
            queue: 'slurm',
            env: ENV_LINE,
            slurm: { time: '90', gres: 'gpu:h100:4', account: 'lab' },
          },
          remote: { host: 'https://gpu.lab.example', token: 'remote-token', device: 'cpu' },
        },
      }),
    });
    const env = { HOME: home };
    expect(await resolveConnection({ cwd: home, env, profile: 'big' })).toMatchObject({
      apiUrl: 'http://127.0.0.1:43210',
      token: 'local-secret',
      profile: 'big',
      defaults: {
        queue: 'slurm',
        gpus: 4,
        gpuModels: ['h100'],
        timeLimitMs: 5_400_000,
        envSetup: ENV_LINE,
        slurm: { account: 'lab' },
      },
    });
    expect(await resolveConnection({ cwd: home, env, profile: 'remote' })).toMatchObject({
      apiUrl: 'https://gpu.lab.example',
      token: 'remote-token',
      defaults: { gpus: 0 },
    });
    // The local fleet's token never goes to an overriding URL.
    expect(
      await resolveConnection({ cwd: home, env, profile: 'big', apiUrl: 'http://other.example' }),
    ).toMatchObject({
      apiUrl: 'http://other.example',
      token: null,
    });
    const elsewhere = await temp.make();
    await writeFiles(elsewhere, {
      'gpufleet.json': JSON.stringify({ profiles: { big: { host: 'local' } } }),
    });
    const none = await resolveConnection({ cwd: elsewhere, env: { HOME: elsewhere }, profile: 'big' }).catch(
      (e: unknown) => e,
    );
    expect(none).toBeInstanceOf(NoApiConfiguredError);
    expect((none as Error).message).toMatch(
      /profile "big" has host "local", but no local fleet is running here/,
    );
  });
});

describe('gpufleet submit --profile', () => {
  it('gives a SLURM queue’s task the profile’s time, GPUs, model, env line and SLURM resources', async () => {
    const id = await submittedId(['submit', '--profile', 'big', 'probe', '--wait-for-capacity']);
    const view = parseJson<TaskView>(await status(id));
    expect(view).toMatchObject({
      queue: SLURM_QUEUE,
      status: 'queued',
      gpus: 2,
      gpuModels: ['a100'],
      timeLimitMs: (86_400 + 2.5 * 3600) * 1000,
    });
    const task = await record(SLURM_QUEUE, id);
    expect(task.envSetup).toBe(ENV_LINE);
    expect(task.slurm).toEqual({ partition: 'gpu', account: 'lab-1', mem: '64G', cpusPerTask: 8 });
  });

  it('lets the flags win over the profile, and submit’s --profile over the global one', async () => {
    const flags = '--gpus 1 --timeout 10m -q slurm-other --wait-for-capacity'.split(' ');
    const id = await submittedId([
      ...['--profile', 'quick', 'submit', '--profile', 'big', 'probe', ...flags],
      ...['--env-setup', 'conda activate other'],
    ]);
    const task = await record('slurm-other', id);
    expect(task.timeLimitMs).toBe(600_000);
    expect(task.envSetup).toBe('conda activate other');
    expect(task.slurm).toEqual({ partition: 'gpu', account: 'lab-1', mem: '64G', cpusPerTask: 8 });
    expect(parseJson<TaskView>(await status(id))).toMatchObject({
      queue: 'slurm-other',
      gpus: 1,
      gpuModels: ['a100'],
    });
    const help = await cli(['submit', '--help']);
    expect(help.stdout).toMatch(/--profile <name> +the profile: its connection and task defaults/);
    expect(help.stdout).toMatch(/--env-setup <line> +a shell line run before the executer/);
    const badLine = await cli([
      'submit',
      '--profile',
      'big',
      'probe',
      '--env-setup',
      'a\nb',
      '--wait-for-capacity',
    ]);
    expect(badLine.code).toBe(2);
    expect(badLine.stderr).toMatch(/--env-setup must be one line/);
  });

  it('runs a task with a gres and a SLURM time, and a cpu profile’s without GPUs', async () => {
    const quick = await cli(['submit', '--profile', 'quick', 'probe', '--wait']);
    expect(quick.code, quick.stderr).toBe(0);
    const view = parseJson<TaskView>(await status(quick.stdout.trim().split('\n')[0] ?? ''));
    expect(view).toMatchObject({ queue: 'default', status: 'succeeded', gpus: 2, timeLimitMs: 30_000 });
    expect(view.gpuIds).toHaveLength(2);
    const cpu = await cli(['submit', 'probe', '--profile', 'cpu', '--wait']);
    expect(cpu.code, cpu.stderr).toBe(0);
    const cpuView = parseJson<TaskView>(await status(cpu.stdout.trim().split('\n')[0] ?? ''));
    expect(cpuView).toMatchObject({ status: 'succeeded', gpus: 0, gpuIds: [], timeLimitMs: 300_000 });
  });

  it('submits nothing with a bad profile: exit 2, naming the file and each field', async () => {
    const bad = await temp.make();
    const profile = { apiUrl: fleet.url, token: fleet.token, queue: EMPTY_QUEUE };
    await writeFiles(bad, {
      'gpufleet.json': JSON.stringify({
        profiles: { broken: { ...profile, slurm: { time: '2:75', gres: 'gpu:a100:0', nodes: 1 } } },
      }),
      'fixed/gpufleet.json': JSON.stringify({
        profiles: { broken: { ...profile, slurm: { time: '2:15', gres: 'gpu:a100:1' } } },
      }),
    });
    const refused = await cli(['submit', '--profile', 'broken', 'probe', '--wait-for-capacity'], bad);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(join(bad, 'gpufleet.json'));
    for (const field of ['time', 'gres', 'nodes'])
      expect(refused.stderr).toContain(`profiles.broken.slurm.${field}:`);
    const client = new GpufleetClient({ url: fleet.url, token: fleet.token });
    expect((await client.listTasks({ queue: EMPTY_QUEUE })).items).toEqual([]);
    // The same submission with the profile put right is taken.
    const fixed = await cli(
      ['submit', '--profile', 'broken', 'probe', '--wait-for-capacity'],
      join(bad, 'fixed'),
    );
    expect(fixed.code, fixed.stderr).toBe(0);
    expect((await client.listTasks({ queue: EMPTY_QUEUE })).items).toHaveLength(1);
  });
});
