// The `gpufleet` binary against a real fleet (redis-server, the API server, a tracker running
// executer processes): submit a folder with --wait --download, --runs, --sweep, --json output
// parsed here, and the exit codes a script relies on.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { parseJson, runCli, startCliFleet, writeFiles, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
});
afterAll(async () => {
  await fleet?.close();
});

interface SubmitJson {
  tasks: Array<{
    id: string;
    status: string;
    exitCode?: number | null;
    replayed: boolean;
    run: number;
    params: Record<string, unknown>;
    idempotencyKey: string;
    download?: { dir: string; files: string[] } | null;
  }>;
}

const cli = (args: string[]) => runCli(args, { env: fleet.env });

describe('gpufleet submit', () => {
  it('uploads an input folder, waits and downloads the outputs the script wrote', async () => {
    const dir = await temp.make();
    const job = join(dir, 'job');
    await writeFiles(job, {
      'run.sh': [
        '#!/bin/sh',
        'set -e',
        'echo "gpus=$CUDA_VISIBLE_DEVICES"',
        'mkdir -p "$GPUFLEET_OUTPUT_DIR/frames"',
        'tr a-z A-Z < data/words.txt > "$GPUFLEET_OUTPUT_DIR/upper.txt"',
        'cp data/nested/blob.bin "$GPUFLEET_OUTPUT_DIR/frames/blob.bin"',
        '',
      ].join('\n'),
      'data/words.txt': 'hello gpu fleet\n',
      'data/nested/blob.bin': Buffer.alloc(200_000, 7),
    });
    const out = join(dir, 'results');
    const result = await cli([
      'submit',
      'script',
      '--param',
      'script=run.sh',
      '--input',
      job,
      '--gpus',
      '2',
      '--wait',
      '--download',
      out,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const { tasks } = parseJson<SubmitJson>(result);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(tasks[0]?.download?.files).toEqual(
      expect.arrayContaining(['upper.txt', 'frames/blob.bin', 'stdout.txt', 'stderr.txt']),
    );
    expect(await readFile(join(out, 'upper.txt'), 'utf8')).toBe('HELLO GPU FLEET\n');
    expect((await readFile(join(out, 'frames/blob.bin'))).equals(Buffer.alloc(200_000, 7))).toBe(true);
    expect(await readFile(join(out, 'stdout.txt'), 'utf8')).toMatch(/^gpus=\d,\d\n/);
    // The task saw the folder's contents as its inputs.
    const status = parseJson<{ inputs: Array<{ name: string }>; gpus: number }>(
      await cli(['status', tasks[0]?.id ?? '', '--json']),
    );
    expect(status.gpus).toBe(2);
    expect(status.inputs.map((i) => i.name).sort()).toEqual([
      'data/nested/blob.bin',
      'data/words.txt',
      'run.sh',
    ]);
  });

  it('prints only the task id on stdout, so $(gpufleet submit ...) works', async () => {
    const result = await cli(['submit', 'noop', '--gpus', '0']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^[0-9a-z]{26}\n$/);
    const waited = await cli(['wait', result.stdout.trim(), '--json']);
    expect(waited.code).toBe(0);
    expect(parseJson<{ tasks: Array<{ status: string }> }>(waited).tasks[0]?.status).toBe('succeeded');
  });

  it('--wait exits 1 when the task does not succeed', async () => {
    const result = await cli(['submit', 'probe', '--param', 'exitCode=3', '--wait', '--json']);
    expect(result.code).toBe(1);
    expect(parseJson<SubmitJson>(result).tasks[0]).toMatchObject({ status: 'failed', exitCode: 3 });
  });

  it('--runs 3 submits three runs, and the same --idempotency-key gives the same three back', async () => {
    const key = `runs-${Date.now()}`;
    const args = ['submit', 'probe', '--runs', '3', '--idempotency-key', key, '--json'];
    const first = parseJson<SubmitJson>(await cli(args));
    expect(first.tasks.map((t) => t.run)).toEqual([1, 2, 3]);
    expect(new Set(first.tasks.map((t) => t.id)).size).toBe(3);
    expect(first.tasks.map((t) => t.idempotencyKey)).toEqual([`${key}-1`, `${key}-2`, `${key}-3`]);
    const again = parseJson<SubmitJson>(await cli(args));
    expect(again.tasks.map((t) => t.id)).toEqual(first.tasks.map((t) => t.id));
    expect(again.tasks.every((t) => t.replayed)).toBe(true);
    const waited = await cli(['wait', ...first.tasks.map((t) => t.id)]);
    expect(waited.code).toBe(0);
    expect(waited.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('--sweep submits the cross product, each value typed after the executer’s schema', async () => {
    const result = await cli([
      'submit',
      'probe',
      '--sweep',
      'exitCode=0,4',
      '--sweep',
      'sleepMs=0,20',
      '--wait',
      '--json',
    ]);
    expect(result.code).toBe(1); // two of the four exit 4
    const { tasks } = parseJson<SubmitJson>(result);
    expect(tasks.map((t) => t.params)).toEqual([
      { exitCode: 0, sleepMs: 0 },
      { exitCode: 0, sleepMs: 20 },
      { exitCode: 4, sleepMs: 0 },
      { exitCode: 4, sleepMs: 20 },
    ]);
    expect(tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'failed', 'failed']);
    const listed = parseJson<{ items: Array<{ id: string }> }>(
      await cli(['ls', '--executer', 'probe', '--status', 'failed', '--json']),
    );
    for (const t of tasks.filter((x) => x.status === 'failed')) {
      expect(listed.items.map((i) => i.id)).toContain(t.id);
    }
  });

  it('takes parameters from --params-file, --param winning', async () => {
    const dir = await temp.make();
    await writeFiles(dir, {
      'p.json': JSON.stringify({ sleepMs: 0, exitCode: 5, files: { 'a.txt': 'from file' } }),
    });
    const result = await cli([
      'submit',
      'probe',
      '--params-file',
      join(dir, 'p.json'),
      '--param',
      'exitCode=0',
      '--download',
      join(dir, 'out'),
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(parseJson<SubmitJson>(result).tasks[0]?.params).toEqual({
      sleepMs: 0,
      exitCode: 0,
      files: { 'a.txt': 'from file' },
    });
    expect(await readFile(join(dir, 'out', 'a.txt'), 'utf8')).toBe('from file');
  });
});

describe('profiles', () => {
  it('takes the API, the token and the task defaults from ./gpufleet.json, GPUFLEET_PROFILE choosing', async () => {
    const cwd = await temp.make();
    const profiles = {
      defaultProfile: 'big',
      profiles: {
        big: { apiUrl: fleet.url, tokenFile: 'token.txt', gpus: 3, timeLimit: '90s', retries: 2 },
        small: { apiUrl: fleet.url, token: fleet.token, gpus: 0 },
      },
    };
    await writeFiles(cwd, { 'gpufleet.json': JSON.stringify(profiles), 'token.txt': `${fleet.token}\n` });
    const env = { PATH: fleet.env.PATH, HOME: fleet.env.HOME };
    const big = parseJson<SubmitJson>(await runCli(['submit', 'probe', '--json'], { cwd, env }));
    const view = parseJson<{ gpus: number; timeLimitMs: number; maxAttempts: number }>(
      await runCli(['status', big.tasks[0]?.id ?? '', '--json'], { cwd, env }),
    );
    expect(view).toMatchObject({ gpus: 3, timeLimitMs: 90_000 });
    const small = parseJson<SubmitJson>(
      await runCli(['submit', 'probe', '--json'], { cwd, env: { ...env, GPUFLEET_PROFILE: 'small' } }),
    );
    const smallView = await runCli(['status', small.tasks[0]?.id ?? '', '--json', '--profile', 'small'], {
      cwd,
      env,
    });
    expect(parseJson<{ gpus: number }>(smallView).gpus).toBe(0);
    const flag = parseJson<SubmitJson>(
      await runCli(['submit', 'probe', '--gpus', '1', '--json'], { cwd, env }),
    );
    expect(
      parseJson<{ gpus: number }>(await runCli(['status', flag.tasks[0]?.id ?? '', '--json'], { cwd, env }))
        .gpus,
    ).toBe(1);
    const unknown = await runCli(['queues', '--profile', 'nope'], { cwd, env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no profile "nope": known profiles: big, small/);
  });
});

describe('exit codes', () => {
  it('2 for a usage error: an unknown flag, a bad value, an unknown executer, a bad key', async () => {
    expect((await cli(['submit', 'probe', '--no-such-flag'])).code).toBe(2);
    expect((await cli(['submit', 'probe', '--runs', 'many'])).code).toBe(2);
    const typed = await cli(['submit', 'probe', '--param', 'sleepMs=soon', '--json']);
    expect(typed.code).toBe(2);
    expect(parseJson<{ error: { code: string } }>(typed).error.code).toBe('USAGE');
    const unknown = await cli(['submit', 'no-such-executer', '--json']);
    expect(unknown.code).toBe(2);
    expect(parseJson<{ error: { code: string } }>(unknown).error.code).toBe('UNKNOWN_EXECUTER');
    const unauthorized = await runCli(['queues'], {
      env: { ...fleet.env, GPUFLEET_TOKEN: 'wrong-token-0123456789' },
    });
    expect(unauthorized.code).toBe(2);
    expect(unauthorized.stderr).toMatch(/gpufleet: /);
    const missing = await runCli(['submit', 'probe', '--input', '/no/such/folder'], { env: fleet.env });
    expect(missing.code).toBe(2);
  });

  it('3 when the API cannot be reached', async () => {
    const result = await runCli(['status', '01jd3xk4m7n8p9q0r1s2t3v4w5', '--retry-for', '300ms', '--json'], {
      env: { ...fleet.env, GPUFLEET_API_URL: 'http://127.0.0.1:9' },
    });
    expect(result.code).toBe(3);
    expect(parseJson<{ error: { code: string } }>(result).error.code).toBe('API_UNREACHABLE');
  });

  it('4 when the task or the output does not exist', async () => {
    const result = await cli(['status', '01jd3xk4m7n8p9q0r1s2t3v4w5', '--json']);
    expect(result.code).toBe(4);
    expect(parseJson<{ error: { code: string } }>(result).error.code).toBe('NOT_FOUND');
    const done = parseJson<SubmitJson>(await cli(['submit', 'probe', '--wait', '--json']));
    const id = done.tasks[0]?.id ?? '';
    const dir = await temp.make();
    const missing = await cli(['download', id, 'no/such/file.txt', '--out', dir]);
    expect(missing.code).toBe(4);
    expect(await readdir(dir)).toEqual([]);
    const one = await cli(['download', id, 'report.json', '--out', dir, '--json']);
    expect(one.code).toBe(0);
    expect(await readdir(dir)).toEqual(['report.json']);
  });
});
