/**
 * A tracker's record, on local disk, of the executer process groups it started: one small file
 * per running attempt under `<workDir>/pids/<consumer>/`. A tracker that starts after a crash
 * kills the groups its previous life left behind, recognising each by pid AND process start time
 * (never by name, never by pid alone: pids are reused).
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@gpufleet/core';
import { isSameProcessAlive, signalGroup } from './proc-info.js';

export interface PidRecord {
  taskId: string;
  attempt: number;
  pid: number;
  pidStartTime: string | null;
}

export function pidDir(workDir: string, consumer: string): string {
  return join(workDir, 'pids', consumer);
}

function fileOf(dir: string, record: Pick<PidRecord, 'taskId' | 'attempt'>): string {
  return join(dir, `${record.taskId}.${record.attempt}.json`);
}

export async function writePidRecord(dir: string, record: PidRecord): Promise<void> {
  try {
    await writeFile(fileOf(dir, record), JSON.stringify(record));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dir, { recursive: true });
    await writeFile(fileOf(dir, record), JSON.stringify(record));
  }
}

export async function removePidRecord(
  dir: string,
  record: Pick<PidRecord, 'taskId' | 'attempt'>,
): Promise<void> {
  await rm(fileOf(dir, record), { force: true });
}

/** Kills every process group a previous life recorded that is still alive; returns those killed. */
export async function killLeftovers(dir: string, logger: Logger): Promise<PidRecord[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const killed: PidRecord[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const record = JSON.parse(await readFile(file, 'utf8')) as PidRecord;
      if (record.pidStartTime !== null && isSameProcessAlive(record.pid, record.pidStartTime)) {
        signalGroup(record.pid, 'SIGKILL');
        killed.push(record);
        logger.warn(
          { taskId: record.taskId, attempt: record.attempt, pid: record.pid },
          'killed a process group left by a previous tracker',
        );
      }
    } catch (error) {
      logger.warn({ err: error, file }, 'unreadable pid record; ignoring it');
    }
    await rm(file, { force: true });
  }
  return killed;
}
