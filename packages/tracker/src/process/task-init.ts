/**
 * Locates or builds gpufleet-task-init (native/task-init.c), the tracker's spawner: a tiny
 * long-lived process that starts every executer and kills their process groups when the tracker
 * dies, even by SIGKILL (see spawner.ts). It is
 * compiled once per source version with the machine's C compiler into `<workDir>/bin/`. Without a
 * compiler the tracker runs executers directly and says so: their process groups then outlive a
 * crashed tracker until it starts again and kills them (pid files).
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Logger } from '@gpufleet/core';

export const TASK_INIT_SOURCE = fileURLToPath(new URL('../../native/task-init.c', import.meta.url));

/** `auto` builds it when a compiler exists; `off` runs executers directly; else a path to a built one. */
export type TaskInitSetting = 'auto' | 'off' | string;

export async function resolveTaskInit(
  setting: TaskInitSetting,
  workDir: string,
  logger: Logger,
): Promise<string | null> {
  if (setting === 'off') return null;
  if (setting !== 'auto') {
    await access(setting);
    return setting;
  }
  const source = await readFile(TASK_INIT_SOURCE);
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const target = join(workDir, 'bin', `gpufleet-task-init-${digest}`);
  try {
    await access(target);
    return target;
  } catch {
    // not built yet
  }
  await mkdir(join(workDir, 'bin'), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter((c): c is string => Boolean(c))) {
    const result = await execa(cc, ['-O2', '-o', temp, TASK_INIT_SOURCE], { reject: false, timeout: 60_000 });
    if (!result.failed) {
      await rename(temp, target);
      return target;
    }
  }
  logger.warn(
    'no C compiler found to build gpufleet-task-init: executers run directly, and those of a crashed tracker keep running until it starts again',
  );
  return null;
}
