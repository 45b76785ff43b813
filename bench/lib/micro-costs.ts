/**
 * The CPU cost of each piece of one gpufleet task's local work, each run alone (C at a time, like
 * the slots), in this process: CPU ms per task of this process (user + kernel; the libuv threads'
 * fs work included) and of the programs it started, plus the wall-clock p50. The pieces copy what
 * packages/tracker/src/run does (task-folder.ts, pid-files.ts, output-uploader.ts through the real
 * LocalArtifactStore, executer-process.ts's execa options) so a change there can be weighed here.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type Options } from 'execa';
import { LocalArtifactStore, type ArtifactStore } from '@gpufleet/core';
import { makeTempDir, removeDir } from '@gpufleet/testkit';
import { cpuDelta, cpuSample } from './cpu.js';
import { benchTaskInit } from './gpufleet.js';
import { quantile } from './stats.js';

export interface Cost {
  piece: string;
  cpuMsPerTask: number;
  programsCpuMsPerTask: number;
  wallP50Ms: number;
}

type Piece = (dir: string, i: number) => Promise<void>;

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

/** task-folder.ts: the folder, its three sub-folders and the two log files, then rm -r. */
const folder: Piece = async (dir, i) => {
  const root = join(dir, 'tasks', `t${i}.1`);
  await mkdir(root, { recursive: true });
  await Promise.all(['inputs', 'outputs', 'logs'].map((d) => mkdir(join(root, d), { recursive: true })));
  const files = ['stdout.txt', 'stderr.txt'].map((f) => createWriteStream(join(root, 'logs', f)));
  for (const f of files) f.end();
  await Promise.all(files.map((f) => once(f, 'close')));
  await rm(root, { recursive: true, force: true });
};

/** pid-files.ts: a small JSON file written, then removed. */
const pidRecord: Piece = async (dir, i) => {
  const file = join(dir, `t${i}.1.json`);
  await writeFile(file, JSON.stringify({ taskId: `t${i}`, attempt: 1, pid: 1234, pidStartTime: '5678' }));
  await rm(file, { force: true });
};

/** output-uploader.ts with LocalArtifactStore: list outputs, put stdout.txt, stderr.txt, manifest.json. */
function outputs(store: () => ArtifactStore): Piece {
  return async (dir, i) => {
    const logs = join(dir, 'logs');
    await mkdir(logs, { recursive: true });
    await readdir(dir);
    const prefix = `default/t${i}/1`;
    await Promise.all(
      ['stdout.txt', 'stderr.txt'].map(async (name) => {
        const file = join(logs, name);
        await writeFile(file, '', { flag: 'a' });
        await lstat(file);
        await store().put(`${prefix}/outputs/${name}`, createReadStream(file));
      }),
    );
    await store().put(`${prefix}/manifest.json`, Buffer.from('{"files":[]}'));
  };
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
      'spawn `true` with the tracker’s execa options',
      async () => void (await execa('true', [], trackerSpawn)),
    ],
    [
      'spawn through gpufleet-task-init, tracker’s options',
      async () => void (await execa(init ?? 'true', init ? ['5000', 'true'] : [], trackerSpawn)),
    ],
    ['task folder: 4 mkdir, 2 log files, rm -r', folder],
    ['pid record: write + remove', pidRecord],
    ['outputs: list + 3 LocalArtifactStore.put (fsync)', (dir, i) => outputs(storeIn(dir, true))(dir, i)],
    ['outputs as above, ARTIFACT_FSYNC=false', (dir, i) => outputs(storeIn(dir, false))(dir, i)],
  ];
  const costs: Cost[] = [];
  for (const [name, piece] of pieces) costs.push(await measure(name, n, concurrency, piece));
  return costs;
}
