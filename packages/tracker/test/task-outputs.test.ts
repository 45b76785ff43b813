// What a task leaves behind: outputs with a manifest whose sizes and sha256 match the stored
// bytes, stdout.txt and stderr.txt among them; a failed exit with its code and stderr tail;
// parameters that reach the process unchanged; input archives that cannot escape their folder;
// each failure with its failure code (docs/task-failures.md).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
  enqueue,
  inputsPrefix,
  LocalArtifactStore,
  queueKeys,
  readArtifact,
  type ArtifactStore,
  type QueueKeys,
  type TaskRecord,
} from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs } from '@gpufleet/testkit';
import type { Tracker } from '@gpufleet/tracker';
import { makeTar } from './archive/make-tar.js';
import { startTestTracker, waitForFinal } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let tracker: Tracker;
let store: ArtifactStore;
let client: Redis;
let keys: QueueKeys;
let prefix: string;
let workDir: string;
let sandbox: string;

beforeAll(async () => {
  sandbox = await temp.make();
  const artifactDir = join(sandbox, 'artifacts');
  workDir = join(sandbox, 'work');
  prefix = uniquePrefix();
  store = new LocalArtifactStore(artifactDir);
  tracker = await startTestTracker({
    redisUrl: redis.server.url,
    prefix,
    artifactDir,
    workDir,
    gpuIds: [0, 1],
    keepTaskDirs: true,
  });
  client = redis.server.client();
  keys = queueKeys(prefix, 'default');
});

afterAll(async () => {
  await tracker.close();
});

const read = (key: string): Promise<Buffer> => readArtifact(store, key);

async function run(spec: Record<string, unknown>, options: { id?: string } = {}): Promise<TaskRecord> {
  const { id } = await enqueue({ redis: client, prefix }, { executer: 'probe', gpus: 1, ...spec }, options);
  return waitForFinal(client, keys, id);
}

describe('task outputs', () => {
  it('stores outputs with a manifest whose sizes and sha256 match, stdout.txt and stderr.txt included', async () => {
    const files = {
      'a.txt': 'alpha\n',
      'deep/nested/b.csv': 'x,y\n1,2\n',
      'stdout.txt': 'an executer file with a reserved name',
    };
    const task = await run({ params: { files } });
    expect(task.status).toBe('succeeded');
    expect(task.exitCode).toBe(0);
    expect(task.errorCode).toBeNull();
    const manifest = task.outputs;
    expect(manifest?.attempt).toBe(1);
    const paths = manifest?.files.map((f) => f.path) ?? [];
    expect(paths).toEqual(
      expect.arrayContaining(['stdout.txt', 'stderr.txt', 'a.txt', 'deep/nested/b.csv', 'report.json']),
    );
    expect(paths.filter((p) => p === 'stdout.txt')).toHaveLength(1);
    for (const file of manifest?.files ?? []) {
      const bytes = await read(`${manifest?.prefix}/${file.path}`);
      expect(bytes.length).toBe(file.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
    }
    expect((await read(`${manifest?.prefix}/a.txt`)).toString()).toBe('alpha\n');
    expect((await read(`${manifest?.prefix}/stdout.txt`)).toString()).toContain(`probe ${task.id} starting`);
    expect((await read(`${manifest?.prefix}/stderr.txt`)).toString()).toContain('probe: a line on stderr');
    const stored = JSON.parse(
      (await read(`${dirname(manifest?.prefix ?? '')}/manifest.json`)).toString(),
    ) as unknown;
    expect(stored).toEqual(manifest);
    const report = JSON.parse((await read(`${manifest?.prefix}/report.json`)).toString()) as {
      redisUrlVisible: boolean;
      taskId: string;
    };
    expect(report.taskId).toBe(task.id);
  });

  it('ends a non-zero exit failed, with the exit code and the last lines of stderr', async () => {
    const task = await run({ params: { exitCode: 3 } });
    expect(task.status).toBe('failed');
    expect(task.exitCode).toBe(3);
    expect(task.error).toContain('exited with code 3');
    expect(task.error).toContain('probe: failing with exit code 3 as asked');
    expect(task.errorCode).toBe('EXIT_NONZERO');
    expect(task.outputs?.files.map((f) => f.path)).toContain('stderr.txt');
  });

  it('passes hostile parameters as single unchanged arguments, through no shell', async () => {
    const hostile = [
      '; rm -rf /',
      '$(touch canary)',
      '`touch canary`',
      'two\nlines',
      '--',
      '--help',
      'it\'s "quoted"',
      '&& touch canary',
    ];
    const task = await run({ params: { args: hostile } });
    expect(task.status).toBe('succeeded');
    const report = JSON.parse((await read(`${task.outputs?.prefix}/report.json`)).toString()) as {
      args: string[];
    };
    expect(report.args).toEqual(hostile);
    const everything = await readdir(sandbox, { recursive: true });
    expect(everything.filter((p) => p.endsWith('canary'))).toEqual([]);
    expect(existsSync(join(process.cwd(), 'canary'))).toBe(false);
  });

  it('ends a task whose command line is too long for the system failed, saying so, instead of hanging', async () => {
    const task = await run({ params: { args: ['x'.repeat(200_000)] } });
    expect(task.status).toBe('failed');
    expect(task.error).toMatch(
      /^could not start the executer: the command line is longer than the system allows \(E2BIG\)/,
    );
    expect(task.error?.length).toBeLessThan(400);
    expect(task.errorCode).toBe('SPAWN_FAILED');
  });

  it('ends a task whose program does not exist failed, naming it', async () => {
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'missing-program' });
    const task = await waitForFinal(client, keys, id);
    expect(task.status).toBe('failed');
    expect(task.error).toMatch(
      /could not start the executer: gpufleet-no-such-program: No such file or directory/,
    );
    expect(task.errorCode).toBe('SPAWN_FAILED');
  });

  it('fetches inputs and extracts a safe archive into the inputs folder', async () => {
    const id = 'inputs' + Math.random().toString(36).slice(2, 10).padEnd(20, '0');
    const tar = makeTar([
      { name: 'case/', type: '5' },
      { name: 'case/geometry.txt', type: '0', body: 'box 1 1\n' },
    ]);
    await store.put(`${inputsPrefix('default', id)}/case.tar`, tar);
    await store.put(`${inputsPrefix('default', id)}/settings.json`, Buffer.from('{"dt":0.1}'));
    const task = await run({ inputs: [{ name: 'case.tar' }, { name: 'settings.json' }] }, { id });
    expect(task.status).toBe('succeeded');
    const report = JSON.parse((await read(`${task.outputs?.prefix}/report.json`)).toString()) as {
      inputs: string[];
    };
    expect(report.inputs).toEqual(['case/geometry.txt', 'settings.json']);
  });

  it('ends a task whose input is missing from the store failed, INPUTS_UNAVAILABLE, before it starts', async () => {
    const task = await run({ inputs: [{ name: 'never-uploaded.txt' }] });
    expect(task.status).toBe('failed');
    expect(task.error).toMatch(/^inputs refused: NOT_FOUND: artifact ".*never-uploaded\.txt" .*not found$/);
    expect(task.errorCode).toBe('INPUTS_UNAVAILABLE');
    expect(task.outputs).toBeNull(); // the executer never started
  });

  for (const [label, entry] of [
    ['a ../ entry', { name: '../escaped.txt', type: '0', body: 'pwned' }],
    ['an absolute path', { name: '/tmp/gpufleet-escaped.txt', type: '0', body: 'pwned' }],
    ['a symlink out of the folder', { name: 'link', type: '2', linkname: '../../..' }],
  ] as const) {
    it(`refuses an input archive with ${label} and writes nothing outside the task folder`, async () => {
      const id = 'evil' + Math.random().toString(36).slice(2, 10).padEnd(22, '0');
      await store.put(
        `${inputsPrefix('default', id)}/evil.tar`,
        makeTar([{ name: 'ok.txt', type: '0', body: 'fine' }, entry]),
      );
      const before = await readdir(sandbox, { recursive: true });
      const task = await run({ inputs: [{ name: 'evil.tar' }] }, { id });
      expect(task.status).toBe('failed');
      expect(task.error).toMatch(/inputs refused: PATH_ESCAPE/);
      expect(task.errorCode).toBe('INPUTS_REFUSED');
      const taskDir = join(workDir, 'tasks', `${id}.1`);
      expect(await readdir(join(taskDir, 'inputs'))).toEqual([]);
      const after = (await readdir(sandbox, { recursive: true })).filter((p) => !before.includes(p));
      // New files: the task's folder, the store, and the tracker's next spare folder.
      const allowed = [join('work', 'tasks', `${id}.1`), 'artifacts', join('work', 'tasks', '.spare')];
      expect(after.filter((p) => !allowed.some((prefix) => p.startsWith(prefix)))).toEqual([]);
      expect(existsSync('/tmp/gpufleet-escaped.txt')).toBe(false);
      expect(task.outputs).toBeNull(); // the executer never started
    });
  }
});
