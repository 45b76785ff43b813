/**
 * The CPU cost of each piece of one gpufleet task's local work, each run alone (C at a time, like
 * the slots), in this process: CPU ms per task of this process (user + kernel; the libuv threads'
 * fs work included) and of the programs it started, plus the wall-clock p50. The pieces copy what
 * packages/tracker/src/run does (task-folder.ts, pid-files.ts, output-uploader.ts through the real
 * LocalArtifactStore, the spawner of spawner.ts) so a change there can be weighed here.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type Options } from 'execa';
import { LocalArtifactStore, silentLogger, storeFile, type ArtifactStore } from '@gpufleet/core';
import { Spawner } from '@gpufleet/tracker';
import { makeTempDir, removeDir } from '@gpufleet/testkit';
import { cpuDelta, cpuSample } from './cpu.js';
import { benchTaskInit } from './gpufleet.js';
import { quantile } from './stats.js';

const EMPTY_SHA256 = createHash('sha256').digest('hex');

export interface Cost {
  piece: string;
  cpuMsPerTask: number;
  programsCpuMsPerTask: number;
  wallP50Ms: number;
}

type Piece = ((dir: string, i: number) => Promise<void>) & {
  /** Runs before the CPU is read: ends helper processes so their children's CPU is counted. */
  finish?: () => Promise<void>;
};

async function measure(piece: string, n: number, concurrency: number, run: Piece): Promise<Cost> {
  const dir = await makeTempDir('gpufleet-costs-');
  try {
    for (let i = 0; i < 20; i++) await run(dir, -1 - i); // warm-up
    const walls: number[] = [];
    let next = 0;
    const before = cpuSample();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          const started = performance.now();
          await run(dir, i);
          walls.push(performance.now() - started);
        }
      }),
    );
    await run.finish?.();
    const cpu = cpuDelta(before, cpuSample());
    return {
      piece,
      cpuMsPerTask: cpu.selfMs / n,
      programsCpuMsPerTask: cpu.childrenMs / n,
      wallP50Ms: quantile(walls, 0.5),
    };
  } finally {
    await removeDir(dir);
  }
}

const trackerSpawn: Options = {
  extendEnv: false,
  env: { PATH: process.env.PATH ?? '' },
  detached: true,
  cleanup: false,
  buffer: false,
  reject: false,
  stdin: 'ignore',
  stdout: 'pipe',
  stderr: 'pipe',
  forceKillAfterDelay: false,
};

/** task-folder.ts: the folder and its two sub-folders (the process creates its log files), then rm -r. */
const folder: Piece = async (dir, i) => {
  const root = join(dir, 'tasks', `t${i}.1`);
  await mkdir(root, { recursive: true });
  await Promise.all(['inputs', 'outputs'].map((d) => mkdir(join(root, d))));
  await rm(root, { recursive: true, force: true });
};

/** pid-files.ts: a small JSON file written, then removed. */
const pidRecord: Piece = async (dir, i) => {
  const file = join(dir, `t${i}.1.json`);
  await writeFile(file, JSON.stringify({ taskId: `t${i}`, attempt: 1, pid: 1234, pidStartTime: '5678' }));
  await rm(file, { force: true });
};

/**
 * output-uploader.ts with LocalArtifactStore: list the outputs, store the two (empty) log files by
 * `storeFile` with the digests the log reader computed (the folder store moves them), then the manifest.
 */
function outputs(store: () => ArtifactStore): Piece {
  return async (dir, i) => {
    const root = join(dir, `t${i}`);
    await mkdir(join(root, 'outputs'), { recursive: true });
    await readdir(join(root, 'outputs'));
    const prefix = `default/t${i}/1`;
    await Promise.all(
      ['stdout.txt', 'stderr.txt'].map(async (name) => {
        const file = join(root, `.${name}`);
        await writeFile(file, '');
        await lstat(file);
        await storeFile(store(), `${prefix}/outputs/${name}`, file, { size: 0, sha256: EMPTY_SHA256 });
      }),
    );
    await store().put(`${prefix}/manifest.json`, Buffer.from('{"files":[]}'));
  };
}

/** spawner.ts: one long-lived gpufleet-task-init starts `true` with its output in two files. */
function throughSpawner(init: string | null): Piece {
  if (!init) throw new Error('gpufleet-task-init could not be built (no C compiler)');
  const spawner = new Spawner(init, 5000, silentLogger());
  const piece: Piece = async (dir, i) => {
    const started = await spawner.spawn({
      file: 'true',
      args: [],
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      stdoutPath: join(dir, `o${i}`),
      stderrPath: join(dir, `e${i}`),
    });
    if (!started.ok) throw new Error(started.reason);
    await started.exit;
  };
  piece.finish = () => spawner.close();
  return piece;
}

export async function microCosts(n: number, concurrency: number): Promise<Cost[]> {
  const init = await benchTaskInit();
  const stores = new Map<string, ArtifactStore>();
  const storeIn = (dir: string, fsync: boolean) => () => {
    const root = join(dir, 'artifacts');
    let s = stores.get(root);
    if (!s) stores.set(root, (s = new LocalArtifactStore(root, { fsync })));
    return s;
  };
  const pieces: Array<[string, Piece]> = [
    [
      'spawn `true` with execa, plain loop options (the reference)',
      async () => void (await execa('true', [], { reject: false })),
    ],
    [
      'spawn `true` with execa, the options the tracker used before the spawner',
      async () => void (await execa('true', [], trackerSpawn)),
    ],
    ['spawn `true` through the spawner (gpufleet-task-init --serve)', throughSpawner(init)],
    ['task folder: 3 mkdir, rm -r', folder],
    ['pid record: write + remove', pidRecord],
    [
      'outputs: list, 2 storeFile (moved) + manifest put (fsync)',
      (dir, i) => outputs(storeIn(dir, true))(dir, i),
    ],
    ['outputs as above, ARTIFACT_FSYNC=false', (dir, i) => outputs(storeIn(dir, false))(dir, i)],
  ];
  const costs: Cost[] = [];
  for (const [name, piece] of pieces) costs.push(await measure(name, n, concurrency, piece));
  return costs;
}
