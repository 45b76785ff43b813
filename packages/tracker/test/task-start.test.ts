// The way from a task's arrival to its spawn, with real Redis and real processes: the take rides
// behind the blocking read of the events stream (one round trip for both), the task's folder is a spare made ahead and
// renamed into place, and executers get the tracker's environment less what is withheld.
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { enqueue, luaScript, queueKeys } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { SpareFolders } from '../src/run/spare-folders.js';
import { createTaskFolder, LOG_FILES } from '../src/run/task-folder.js';
import { executerBaseEnv, taskEnv } from '../src/run/task-env.js';
import { startTestTracker, useTrackers, waitForFinal } from './helpers/fleet.js';
import { nextEvent } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

type SlowlogEntry = [number, number, number, string[], string, string];

/**
 * The commands Redis ran whose arguments name `prefix`, oldest first, from the slow log: each
 * with the client's address and, for an FCALL, the function's name as its name.
 */
async function commandsRun(prefix: string): Promise<Array<{ name: string; client: string }>> {
  const log = (await redis.server.client().slowlog('GET', 100_000)) as SlowlogEntry[];
  return (
    log
      // Not the commands scripts ran (client `?:0`): the ones clients sent.
      .filter(([, , , args, client]) => client !== '?:0' && args.some((a) => a.includes(prefix)))
      .reverse()
      .map(([, , , args, client]) => {
        const command = (args[0] ?? '').toLowerCase();
        return { name: command === 'fcall' ? (args[1] ?? '') : command, client };
      })
  );
}

describe('from arrival to spawn', () => {
  it('claims a task that arrives during the blocking read with the take sent behind it', async () => {
    const admin = redis.server.client();
    await admin.config('SET', 'slowlog-log-slower-than', '0');
    await admin.config('SET', 'slowlog-max-len', '100000');
    const prefix = uniquePrefix();
    const keys = queueKeys(prefix, 'default');
    const tracker = await startTestTracker({
      redisUrl: redis.server.url,
      prefix,
      artifactDir: await temp.make(),
      workDir: await temp.make(),
      cpuSlots: 1,
    });
    trackers.push(tracker);
    await nextEvent(tracker, 'waiting-for-tasks'); // the tracker is blocked in its read
    const { id } = await enqueue({ redis: admin, prefix }, { executer: 'noop-fast' });
    expect(await waitForFinal(admin, keys, id)).toMatchObject({ status: 'succeeded', attempt: 1 });
    // After the enqueue, the take that claimed it ran on the blocking connection right after its
    // read returned: it was sent behind the read, not after the tracker saw the read's reply.
    const run = await commandsRun(prefix);
    const enqueued = run.findIndex((c) => c.name === luaScript('enqueue').fn);
    const after = run.slice(enqueued + 1);
    const take = after.findIndex((c) => c.name === luaScript('take').fn);
    expect(take).toBeGreaterThan(0);
    expect(after[take - 1]).toEqual({ name: 'xread', client: after[take]?.client });
  });

  it('never shows a short task running again after it began uploading (the pid write lands first)', async () => {
    const admin = redis.server.client();
    const prefix = uniquePrefix();
    const keys = queueKeys(prefix, 'default');
    const tracker = await startTestTracker({
      redisUrl: redis.server.url,
      prefix,
      artifactDir: await temp.make(),
      workDir: await temp.make(),
      cpuSlots: 2,
    });
    trackers.push(tracker);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++)
      ids.push((await enqueue({ redis: admin, prefix }, { executer: 'noop-fast' })).id);
    for (const id of ids) expect(await waitForFinal(admin, keys, id)).toMatchObject({ status: 'succeeded' });
    const byTask = new Map<string, string[]>();
    for (const [, f] of await admin.xrange(keys.events, '-', '+')) {
      const id = f[1] ?? '';
      byTask.set(id, [...(byTask.get(id) ?? []), f[3] ?? '']);
    }
    for (const id of ids) {
      const statuses = byTask.get(id) ?? [];
      expect(statuses.slice(statuses.indexOf('uploading'))).toEqual(['uploading', 'succeeded']);
    }
  });

  it('gives each task a spare folder made ahead, and keeps the spares only while it runs', async () => {
    const prefix = uniquePrefix();
    const keys = queueKeys(prefix, 'default');
    const workDir = await temp.make();
    const consumer = `spares-${prefix}`;
    const spareDir = SpareFolders.dirOf(workDir, consumer);
    await mkdir(join(spareDir, 'left-by-a-crash'), { recursive: true });
    const tracker = await startTestTracker({
      redisUrl: redis.server.url,
      prefix,
      artifactDir: await temp.make(),
      workDir,
      consumerName: consumer,
      cpuSlots: 2,
      keepTaskDirs: true,
    });
    trackers.push(tracker);
    await waitFor(async () => (await readdir(spareDir)).length === 2, { timeoutMs: 3000 });
    const spares = await readdir(spareDir);
    expect(spares).not.toContain('left-by-a-crash');
    const inodes = new Set<number>();
    for (const name of spares) {
      const spare = join(spareDir, name);
      inodes.add((await stat(spare)).ino);
      expect((await readdir(spare)).sort()).toEqual(
        [...Object.values(LOG_FILES), 'inputs', 'outputs'].sort(),
      );
    }
    const admin = redis.server.client();
    const { id } = await enqueue({ redis: admin, prefix }, { executer: 'noop-fast' });
    expect(await waitForFinal(admin, keys, id)).toMatchObject({ status: 'succeeded' });
    // The task's folder is one of the spares, renamed; another was made in its place.
    expect(inodes.has((await stat(join(workDir, 'tasks', `${id}.1`))).ino)).toBe(true);
    await waitFor(async () => (await readdir(spareDir)).length === 2, { timeoutMs: 3000 });
    expect((await readdir(spareDir)).filter((name) => spares.includes(name))).toHaveLength(1);
    await tracker.close();
    await expect(stat(spareDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('makes the folder on the spot while no spare can be made, says why once, and uses spares again after', async () => {
    const workDir = await temp.make();
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const blocker = join(workDir, 'tasks', '.spare', 'blocker');
    await mkdir(join(workDir, 'tasks', '.spare'), { recursive: true });
    await writeFile(blocker, 'a file where a folder should be');
    const spares = new SpareFolders(join(blocker, 'tracker-a'), 2, logger);
    await spares.start();
    for (const attempt of [1, 2, 3]) {
      const folder = await createTaskFolder(workDir, 'task', attempt, spares);
      expect((await readdir(folder.root)).sort()).toEqual(['inputs', 'outputs']);
      spares.refill();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const failures = lines.filter((l) => l.msg === 'could not make a spare task folder');
    expect(failures).toHaveLength(1);
    expect(failures[0]?.err).toMatchObject({ code: 'ENOTDIR' });
    await rm(blocker);
    spares.refill();
    await waitFor(() => lines.some((l) => l.msg === 'spare task folders can be made again'), {
      timeoutMs: 3000,
    });
    await waitFor(async () => (await readdir(join(blocker, 'tracker-a'))).length === 2, { timeoutMs: 3000 });
    const folder = await createTaskFolder(workDir, 'task', 4, spares);
    expect((await readdir(folder.root)).sort()).toEqual(
      [...Object.values(LOG_FILES), 'inputs', 'outputs'].sort(),
    );
    await spares.close();
  });

  it('passes executers the tracker’s environment less its secrets and settings, with the task’s GPUs numbered as nvidia-smi numbers them', () => {
    const base = executerBaseEnv({
      PATH: '/usr/bin:/bin',
      HOME: '/home/fleet',
      REDIS_URL: 'redis://:secret@redis:6379',
      AWS_SECRET_ACCESS_KEY: 'secret',
      S3_BUCKET: 'artifacts',
      GPUFLEET_GPUS: '0,1,2,3',
      ARTIFACT_STORE: 's3://artifacts',
      CUDA_VISIBLE_DEVICES: '0,1,2,3',
      NVIDIA_VISIBLE_DEVICES: 'all',
      CUDA_DEVICE_ORDER: 'FASTEST_FIRST',
    });
    expect(base).toEqual({ PATH: '/usr/bin:/bin', HOME: '/home/fleet', CUDA_DEVICE_ORDER: 'FASTEST_FIRST' });
    const env = taskEnv({
      base,
      manifestEnv: {
        OMP_NUM_THREADS: '4',
        CUDA_VISIBLE_DEVICES: '7',
        HOME: '/scratch',
        CUDA_DEVICE_ORDER: 'FASTEST_FIRST',
      },
      taskId: 't1',
      attempt: 2,
      gpuIds: [0, 2],
      inputDir: '/w/t1.2/inputs',
      outputDir: '/w/t1.2/outputs',
    });
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/scratch',
      OMP_NUM_THREADS: '4',
      // GPU ids are nvidia-smi's indices: CUDA must count GPUs in PCI bus order as nvidia-smi does.
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      CUDA_VISIBLE_DEVICES: '0,2',
      GPUFLEET_TASK_ID: 't1',
      GPUFLEET_ATTEMPT: '2',
      GPUFLEET_GPU_IDS: '0,2',
      GPUFLEET_INPUT_DIR: '/w/t1.2/inputs',
      GPUFLEET_OUTPUT_DIR: '/w/t1.2/outputs',
    });
  });
});
