/**
 * How to run the `gpufleet` command from here: `npx gpufleet` when npm has linked it (an install
 * after a build), else `node <path of its built bin>` relative to the working folder, which works
 * in a fresh clone right after `npm start` built it.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function gpufleetCommand(cwd = process.cwd()): Promise<string> {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const linked = join(dir, 'node_modules', '.bin', 'gpufleet');
    if (
      await access(linked, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return 'npx gpufleet';
    if (dirname(dir) === dir) break;
  }
  const entry = fileURLToPath(import.meta.resolve('@gpufleet/api-client'));
  const bin = join(dirname(entry), 'bin', 'gpufleet.js');
  const rel = relative(cwd, bin);
  return `node ${rel.startsWith('..') || rel === '' ? bin : rel}`;
}
