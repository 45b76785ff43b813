/**
 * Loads executers from disk. Each path is one executer folder (it holds `executer.json`) or a
 * catalog folder whose direct subfolders holding an `executer.json` are executers. Executers that
 * run arbitrary user code (`requiresOptIn`) are skipped unless the caller allows them.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ManifestError } from '../errors.js';
import { parseManifest, type ExecuterManifest } from './executer-manifest.js';
import { validateParams, type ParamsValidator } from './task-params.js';

export const MANIFEST_FILE = 'executer.json';

export interface LoadedExecuter {
  manifest: ExecuterManifest;
  /** Absolute path of the executer's folder. */
  dir: string;
  /** Absolute path of its `executer.json`. */
  file: string;
  validateParams: ParamsValidator;
}

/** An executer that was found and is valid but not loaded. */
export interface SkippedExecuter {
  name: string;
  file: string;
  reason: string;
}

export interface LoadExecutersOptions {
  /** Load executers whose manifest says `requiresOptIn` (default false: they are skipped). */
  allowOptIn?: boolean;
}

/** The loaded executers by name, and the ones skipped. */
export type LoadedExecuters = Map<string, LoadedExecuter> & { readonly skipped: readonly SkippedExecuter[] };

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() ?? false;
}

/** The executer folders a configured path stands for, in name order. */
async function executerDirs(dir: string): Promise<string[]> {
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    const reason = err.code === 'ENOENT' ? 'does not exist' : `cannot be read: ${err.message}`;
    throw new ManifestError(dir, [{ field: 'path', reason }]);
  });
  if (!info.isDirectory()) throw new ManifestError(dir, [{ field: 'path', reason: 'is not a folder' }]);
  if (await isFile(path.join(dir, MANIFEST_FILE))) return [dir];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const dirs: string[] = [];
  for (const entry of entries) {
    const sub = path.join(dir, entry.name);
    if ((entry.isDirectory() || entry.isSymbolicLink()) && (await isFile(path.join(sub, MANIFEST_FILE)))) {
      dirs.push(sub);
    }
  }
  if (dirs.length === 0) {
    const reason = `holds no ${MANIFEST_FILE}, and none of its direct subfolders does`;
    throw new ManifestError(dir, [{ field: 'path', reason }]);
  }
  return dirs;
}

/** Where a JSON.parse error happened, as "line L, column C", when the message gives a position. */
function jsonErrorReason(err: unknown, text: string): string {
  const message = errorMessage(err);
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined || /\bline \d+/.test(message)) return `is not valid JSON: ${message}`;
  const before = text.slice(0, Number(position)).split('\n');
  const column = (before.at(-1)?.length ?? 0) + 1;
  return `is not valid JSON: ${message} (line ${before.length}, column ${column})`;
}

async function readManifest(file: string): Promise<ExecuterManifest> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  } catch (err) {
    throw new ManifestError(file, [{ field: 'file', reason: `cannot be read: ${errorMessage(err)}` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(file, [{ field: 'json', reason: jsonErrorReason(err, text) }]);
  }
  return parseManifest(json, file);
}

/**
 * Loads every executer the paths name. Throws ManifestError (naming the file) for a missing path,
 * unreadable or invalid JSON, a malformed manifest, or a name that two folders both define.
 */
export async function loadExecuters(
  paths: readonly string[],
  options: LoadExecutersOptions = {},
): Promise<LoadedExecuters> {
  const loaded = new Map<string, LoadedExecuter>();
  const skipped: SkippedExecuter[] = [];
  const fileOf = new Map<string, string>();
  for (const configured of paths) {
    for (const dir of await executerDirs(path.resolve(configured))) {
      const file = path.join(dir, MANIFEST_FILE);
      const manifest = await readManifest(file);
      const other = fileOf.get(manifest.name);
      if (other === file) continue; // the same folder named twice
      if (other !== undefined) {
        const reason = `executer "${manifest.name}" is already defined by ${other}`;
        throw new ManifestError(file, [{ field: 'name', reason }]);
      }
      fileOf.set(manifest.name, file);
      if (manifest.requiresOptIn && options.allowOptIn !== true) {
        const reason = 'requires opt-in (it runs arbitrary user code) and opt-in is not enabled';
        skipped.push({ name: manifest.name, file, reason });
        continue;
      }
      loaded.set(manifest.name, { manifest, dir, file, validateParams: validateParams(manifest) });
    }
  }
  return Object.assign(loaded, { skipped });
}
