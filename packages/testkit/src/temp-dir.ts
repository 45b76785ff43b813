import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A new empty folder under the system temp folder; the returned path is a real path (no symlinks). */
export async function makeTempDir(prefix = 'gpufleet-'): Promise<string> {
  return realpath(await mkdtemp(join(tmpdir(), prefix)));
}

/** Removes a folder and everything in it; a folder that is already gone is fine. */
export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

export interface TempDirs {
  /** A new empty temp folder, removed after all tests of the file. */
  make(prefix?: string): Promise<string>;
}

/**
 * Hands out temp folders to the tests of one file and removes them all in `afterAll`.
 * Call it at the top level of a test file.
 */
export function useTempDirs(): TempDirs {
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all(made.splice(0).map((dir) => removeDir(dir)));
  });
  return {
    async make(prefix?: string): Promise<string> {
      const dir = await makeTempDir(prefix);
      made.push(dir);
      return dir;
    },
  };
}
