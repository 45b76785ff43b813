/**
 * Turns the inputs a user names into the files to upload: a folder is sent as its contents (each
 * file named by its path inside the folder, `geometry/box.txt`), a file by its base name, and
 * `{path, name}` puts either under another name. Symbolic links are followed (a loop is refused);
 * two inputs with the same name are refused, naming both. Node only: `submit()` loads this module
 * when a submission has inputs (see node-only.ts).
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../errors.js';

/** A path to send; `name` is where it lands in the task's inputs folder. */
export type InputSource = string | { path: string; name?: string };

export interface InputFile {
  /** Path inside the task's inputs folder, `/`-separated. */
  name: string;
  /** Absolute local path. */
  path: string;
  size: number;
}

function checkName(name: string, path: string): void {
  const bad =
    name === '' ||
    name.startsWith('/') ||
    name.includes('\\') ||
    /[\r\n"]/.test(name) ||
    name.split('/').some((part) => part === '' || part === '.' || part === '..');
  if (bad)
    throw new InputError(`cannot send ${path} as "${name}": not a relative path inside the inputs folder`);
}

async function walk(dir: string, prefix: string, seen: Set<string>, out: InputFile[]): Promise<void> {
  const real = await realpath(dir);
  if (seen.has(real))
    throw new InputError(`${dir} links back into a folder being sent (a symbolic-link loop)`);
  seen.add(real);
  const entries = await readdir(dir);
  for (const entry of entries.sort()) {
    const path = join(dir, entry);
    const info = await stat(path).catch((error: unknown) => {
      throw new InputError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    });
    const name = prefix === '' ? entry : `${prefix}/${entry}`;
    if (info.isDirectory()) await walk(path, name, seen, out);
    else if (info.isFile()) out.push({ name, path, size: info.size });
  }
  seen.delete(real);
}

export async function collectInputs(sources: readonly InputSource[]): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const source of sources) {
    const path = resolve(typeof source === 'string' ? source : source.path);
    const rename = typeof source === 'string' ? undefined : source.name;
    const info = await stat(path).catch((error: unknown) => {
      throw new InputError(`input ${path} does not exist or cannot be read`, { cause: error });
    });
    if (info.isDirectory()) await walk(path, rename ?? '', new Set(), files);
    else if (info.isFile()) files.push({ name: rename ?? basename(path), path, size: info.size });
    else throw new InputError(`input ${path} is neither a file nor a folder`);
  }
  const byName = new Map<string, string>();
  for (const file of files) {
    checkName(file.name, file.path);
    const other = byName.get(file.name);
    if (other !== undefined) {
      throw new InputError(`two inputs would both be "${file.name}": ${other} and ${file.path}`);
    }
    byName.set(file.name, file.path);
  }
  return files;
}
