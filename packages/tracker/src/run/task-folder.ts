/**
 * A task attempt's folder on the tracker: `inputs/` (fetched from the artifact store, archives
 * extracted and confined), `outputs/` (what the executer writes), and `.stdout.txt` and
 * `.stderr.txt` (its output, written by the process itself). Each attempt gets a fresh folder, so
 * attempts never share files: a spare made ahead and renamed, or one made on the spot.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import {
  type ArtifactStore,
  checkInputName,
  inputsPrefix,
  PathEscapeError,
  type TaskInput,
} from '@gpufleet/core';
import { archiveKind } from '../inputs/archive-kind.js';
import { extractArchive } from '../inputs/extract-archive.js';

/** The executer's stdout and stderr as the process writes them, in its task folder. */
export const LOG_FILES = { stdout: '.stdout.txt', stderr: '.stderr.txt' } as const;

/** Where a task folder made ahead comes from (SpareFolders; an interface, so no import cycle). */
export interface SpareSource {
  /** A ready folder's path, now the caller's to rename, or undefined when none is ready. */
  take(): string | undefined;
}

export interface TaskFolder {
  root: string;
  inputDir: string;
  outputDir: string;
  stdoutPath: string;
  stderrPath: string;
}

export async function createTaskFolder(
  workDir: string,
  taskId: string,
  attempt: number,
  spares?: SpareSource,
): Promise<TaskFolder> {
  const root = join(workDir, 'tasks', `${taskId}.${attempt}`);
  const folder: TaskFolder = {
    root,
    inputDir: join(root, 'inputs'),
    outputDir: join(root, 'outputs'),
    stdoutPath: join(root, LOG_FILES.stdout),
    stderrPath: join(root, LOG_FILES.stderr),
  };
  // One rename of a folder made ahead (see spare-folders.ts); the slow way when none is ready.
  const spare = spares?.take();
  if (spare) {
    try {
      renameSync(spare, root);
      return folder;
    } catch {
      void rm(spare, { recursive: true, force: true }).catch(() => undefined);
    }
  }
  // Synchronous on purpose: they are on the way to the spawn, where each await would add a hop
  // through libuv's thread pool.
  try {
    mkdirSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') await rm(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true }); // first task: creates <workDir>/tasks
  }
  mkdirSync(folder.inputDir);
  mkdirSync(folder.outputDir);
  return folder;
}

/** Resolves `name` inside `dir`, refusing anything that would land outside it. */
export function confinedPath(dir: string, name: string): string {
  const target = resolve(dir, name);
  const rel = relative(dir, target);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || resolve(dir, rel) !== target) {
    throw new PathEscapeError(name, `it would leave ${dir}`);
  }
  return target;
}

/** Fetches the task's inputs into `inputDir`, extracting archives (unless `extract: false`). */
export async function fetchInputs(
  store: ArtifactStore,
  folder: TaskFolder,
  tenant: string,
  taskId: string,
  inputs: readonly TaskInput[],
): Promise<void> {
  const prefix = inputsPrefix(tenant, taskId);
  for (const input of inputs) {
    const kind = archiveKind(input.name);
    const extract = input.extract ?? kind !== null;
    const key = `${prefix}/${checkInputName(input.name)}`; // the API and enqueue refuse such names first
    if (extract && kind !== null) {
      const temp = join(folder.root, `.archive-${Math.random().toString(36).slice(2)}`);
      await store.download(key, temp);
      try {
        await extractArchive(temp, folder.inputDir);
      } finally {
        await rm(temp, { force: true });
      }
    } else {
      const target = confinedPath(folder.inputDir, input.name);
      await mkdir(dirname(target), { recursive: true });
      await store.download(key, target);
    }
  }
}

export async function removeTaskFolder(folder: TaskFolder): Promise<void> {
  await rm(folder.root, { recursive: true, force: true });
}
