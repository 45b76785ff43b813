/**
 * The one program every path of bench/slurm.ts runs, so that SLURM alone and gpufleet start the
 * same thing: `stamp.sh DIR NAME SECONDS`, whose first act writes the time (`date +%s%3N`, epoch
 * ms, the clock Date.now() reads) to DIR/NAME.start, which then sleeps SECONDS and writes
 * DIR/NAME.end. sbatch runs it as the batch script itself (its `#!/bin/sh`); gpufleet runs it as the
 * `stamp` executer (`sh stamp.sh ...`, one shell either way), written at run time into the bench's
 * temporary folder, since an executer must be defined in one folder only.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const SCRIPT = `#!/bin/sh
# stamp.sh DIR NAME SECONDS (bench/slurm.ts): the start time first, then the work, then the end time.
date +%s%3N > "$1/$2.start"
[ "$3" = 0 ] || sleep "$3"
date +%s%3N > "$1/$2.end"
`;

/** The `stamp` executer: the script with its three parameters, one GPU unless the task asks more. */
const MANIFEST = {
  name: 'stamp',
  version: '1.0.0',
  description: 'bench:slurm: writes its start time, sleeps params.seconds, writes its end time',
  command: ['sh', '{executerDir}/stamp.sh', '{param.dir}', '{param.name}', '{param.seconds}'],
  params: {
    type: 'object',
    properties: {
      dir: { type: 'string', pattern: '^/' },
      name: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
      seconds: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' },
    },
    required: ['dir', 'name', 'seconds'],
    additionalProperties: false,
  },
  resources: { gpus: 1, timeLimitMs: 60_000 },
};

export interface StampFiles {
  /** The executer folder for GPUFLEET_EXECUTERS (it holds only `stamp`). */
  executers: string;
  /** The script, for sbatch. */
  script: string;
  /** Where the stamps are written. */
  stamps: string;
}

export async function writeStampFiles(dir: string): Promise<StampFiles> {
  const executers = join(dir, 'executers');
  const folder = join(executers, 'stamp');
  const stamps = join(dir, 'stamps');
  await mkdir(folder, { recursive: true });
  await mkdir(stamps, { recursive: true });
  const script = join(folder, 'stamp.sh');
  await writeFile(script, SCRIPT);
  await chmod(script, 0o755);
  await writeFile(join(folder, 'executer.json'), `${JSON.stringify(MANIFEST, null, 2)}\n`);
  return { executers, script, stamps };
}

/** The `stamp` task's spec for gpufleet's enqueue. */
export function stampSpec(
  stamps: string,
  name: string,
  durationMs: number,
  gpus = 1,
  timeLimitMs?: number,
): Record<string, unknown> {
  return {
    executer: 'stamp',
    gpus,
    params: { dir: stamps, name, seconds: (durationMs / 1000).toFixed(3) },
    ...(timeLimitMs === undefined ? {} : { timeLimitMs }),
  };
}

/** The arguments after the script for sbatch: the same three. */
export function stampArgs(stamps: string, name: string, durationMs: number): string[] {
  return [stamps, name, (durationMs / 1000).toFixed(3)];
}

/** A stamp's time, or null while it is not (completely) written. */
export async function readStamp(file: string): Promise<number | null> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return /^\d{13}\n$/.test(text) ? Number(text.trim()) : null;
}

/** Waits for `NAME.which` of every name; their times, in the order of `names`. */
export async function waitForStamps(
  stamps: string,
  names: readonly string[],
  which: 'start' | 'end',
  timeoutMs: number,
): Promise<number[]> {
  const found = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const name of names) {
      if (found.has(name)) continue;
      const at = await readStamp(join(stamps, `${name}.${which}`));
      if (at !== null) found.set(name, at);
    }
    if (found.size === names.length) return names.map((name) => found.get(name) as number);
    if (Date.now() > deadline)
      throw new Error(
        `only ${found.size} of ${names.length} programs wrote their ${which} in ${timeoutMs} ms`,
      );
    await delay(names.length > 1 ? 50 : 10);
  }
}
