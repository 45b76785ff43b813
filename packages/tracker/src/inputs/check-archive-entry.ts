/**
 * Decides, without touching the disk, whether one tar entry may be extracted into a folder
 * (DESIGN.md invariant 6). Entries are judged in archive order against what earlier entries of
 * the same archive made, so an entry can never write through, or hard-link to, a symlink the
 * archive planted. The caller still checks `touches` against symlinks already on disk.
 */

/** What an entry puts on disk; only these entry types are ever extracted. */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink';

const KIND_OF_TYPE: ReadonlyMap<string, EntryKind> = new Map<string, EntryKind>([
  ['File', 'file'],
  ['OldFile', 'file'],
  ['ContiguousFile', 'file'],
  ['Directory', 'dir'],
  ['SymbolicLink', 'symlink'],
  ['Link', 'hardlink'],
]);

/** The fields of a tar entry (node-tar's ReadEntry has them) that decide its safety. */
export interface ArchiveEntry {
  path: string;
  /** node-tar's type name: `File`, `Directory`, `SymbolicLink`, `Link`, `FIFO`, ... */
  type: string;
  linkpath?: string | undefined;
}

/** What the earlier entries of the archive made, by folded path; a symlink stays a symlink. */
export type SeenEntries = Map<string, EntryKind>;

export type EntryVerdict =
  | {
      ok: true;
      /** The entry's path, normalised and relative to the folder (`.` for the folder itself). */
      path: string;
      kind: EntryKind;
      /** Relative paths that must not already be symlinks in the folder for this entry to be safe. */
      touches: string[];
    }
  | { ok: false; reason: string };

/** Folds case and Unicode form, so a check also holds on case-insensitive file systems. */
function fold(path: string): string {
  return path.normalize('NFC').toLowerCase();
}

/** Splits a tar path into its segments (without `.` and empty ones), or returns why it is unsafe. */
function segmentsOf(raw: string, what: string): string[] | string {
  if (raw.includes('\0')) return `${what} contains a NUL byte`;
  const path = raw.replaceAll('\\', '/');
  if (path.startsWith('/')) return `${what} is absolute`;
  if (/^[A-Za-z]:/.test(path)) return `${what} starts with a drive letter`;
  return path.split('/').filter((s) => s !== '' && s !== '.');
}

/** Every proper prefix of `segments`, shortest first (`a`, `a/b` for `a/b/c`). */
function parentsOf(segments: readonly string[]): string[] {
  return segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'));
}

/** The first of `paths` that an earlier entry made a symlink, if any. */
function firstSymlink(paths: readonly string[], seen: ReadonlyMap<string, EntryKind>): string | undefined {
  return paths.find((p) => seen.get(fold(p)) === 'symlink');
}

/** Resolves a symlink target from the link's folder, or returns why it may leave the folder. */
function resolveSymlinkTarget(linkpath: string, linkParents: readonly string[]): string[] | string {
  const target = segmentsOf(linkpath, 'symlink target');
  if (typeof target === 'string') return target;
  const ups = target.findIndex((s) => s !== '..');
  const up = ups === -1 ? target.length : ups;
  const names = target.slice(up);
  // A `..` after a name would be resolved by the kernel through that name, which may itself be
  // a symlink: `sub/a -> ..` plus `b -> sub/a/..` looks like `sub` but is the folder's parent.
  if (names.includes('..')) return `symlink target ${JSON.stringify(linkpath)} has '..' after a name`;
  if (up > linkParents.length) {
    return `symlink target ${JSON.stringify(linkpath)} resolves outside the extraction folder`;
  }
  return [...linkParents.slice(0, linkParents.length - up), ...names];
}

/**
 * Judges one entry against the entries before it. Pure: `seen` is only read; call
 * `recordArchiveEntry` with an accepted verdict before judging the next entry.
 */
export function checkArchiveEntry(entry: ArchiveEntry, seen: ReadonlyMap<string, EntryKind>): EntryVerdict {
  const kind = KIND_OF_TYPE.get(entry.type);
  if (kind === undefined) return { ok: false, reason: `entry type ${entry.type} is not allowed` };
  const segments = segmentsOf(entry.path, 'path');
  if (typeof segments === 'string') return { ok: false, reason: segments };
  if (segments.includes('..')) return { ok: false, reason: "path has a '..' segment" };
  if (segments.length === 0 && kind !== 'dir') {
    return { ok: false, reason: 'a non-directory entry would replace the extraction folder' };
  }
  const parents = parentsOf(segments);
  const through = firstSymlink(parents, seen);
  if (through !== undefined) {
    return { ok: false, reason: `writes through the symlink ${JSON.stringify(through)} made earlier` };
  }
  const path = segments.length === 0 ? '.' : segments.join('/');
  const touches = [...parents];
  if (kind === 'symlink' || kind === 'hardlink') {
    if (entry.linkpath === undefined || entry.linkpath === '') {
      return { ok: false, reason: `${entry.type} entry has no target` };
    }
    const target =
      kind === 'symlink'
        ? resolveSymlinkTarget(entry.linkpath, segments.slice(0, -1))
        : resolveHardLinkTarget(entry.linkpath, seen);
    if (typeof target === 'string') return { ok: false, reason: target };
    const targetPaths = target.map((_, i) => target.slice(0, i + 1).join('/'));
    const chained = firstSymlink(targetPaths, seen);
    if (chained !== undefined) {
      return { ok: false, reason: `link target goes through the symlink ${JSON.stringify(chained)}` };
    }
    touches.push(...(kind === 'symlink' ? targetPaths : targetPaths.slice(0, -1)));
  }
  return { ok: true, path, kind, touches };
}

/** A hard link's target, relative to the folder: a file an earlier entry of the archive made. */
function resolveHardLinkTarget(linkpath: string, seen: ReadonlyMap<string, EntryKind>): string[] | string {
  const target = segmentsOf(linkpath, 'hard link target');
  if (typeof target === 'string') return target;
  if (target.includes('..')) return `hard link target ${JSON.stringify(linkpath)} has a '..' segment`;
  const made = seen.get(fold(target.join('/')));
  if (made !== 'file' && made !== 'hardlink') {
    return `hard link target ${JSON.stringify(linkpath)} is not a file earlier in the archive`;
  }
  return target;
}

/** Notes what an accepted entry made; a path that was ever a symlink is remembered as one. */
export function recordArchiveEntry(seen: SeenEntries, verdict: { path: string; kind: EntryKind }): void {
  const key = fold(verdict.path);
  if (seen.get(key) !== 'symlink') seen.set(key, verdict.kind);
}
