/**
 * extractArchive against real tar and tar.gz files in temp folders: a normal archive comes out
 * byte-identical; every malicious archive is refused before anything is written, and nothing
 * ever appears next to the extraction folder.
 */
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { create as createTar } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GpufleetError, PathEscapeError } from '@gpufleet/core';
import { archiveKind } from '../../src/inputs/archive-kind.js';
import {
  checkArchiveEntry,
  recordArchiveEntry,
  type SeenEntries,
} from '../../src/inputs/check-archive-entry.js';
import {
  DEFAULT_EXTRACT_LIMITS,
  extractArchive,
  unpackCheckedArchive,
} from '../../src/inputs/extract-archive.js';
import { paxEntry, writeTar, type RawEntry } from './make-tar.js';

let fixtures: string; // archives are written here, never next to `dest`
let root: string; // holds only `dest` (and `outside` where a test makes it)
let dest: string;

beforeEach(async () => {
  fixtures = await mkdtemp(join(tmpdir(), 'gf-archive-src-'));
  root = await mkdtemp(join(tmpdir(), 'gf-archive-'));
  dest = join(root, 'inputs');
  await mkdir(dest);
});

afterEach(async () => {
  await rm(fixtures, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

/** Every path under `dir`, with file contents or link targets, to compare whole trees. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, name);
    const stats = await lstat(path);
    const key = relative(dir, path);
    if (stats.isSymbolicLink()) out[key] = `-> ${await readlink(path)}`;
    else if (stats.isDirectory()) out[key] = '<dir>';
    else out[key] = (await readFile(path)).toString('base64');
  }
  return out;
}

async function failure(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => expect.fail('the archive was extracted'),
    (err: unknown) => err,
  );
}

async function expectNothingWritten(): Promise<void> {
  expect(await readdir(dest)).toEqual([]);
  expect(await readdir(root)).toEqual(['inputs']);
}

const file = (name: string, body: string | Buffer = 'x'): RawEntry => ({ name, body });
const dir = (name: string): RawEntry => ({ name, type: '5' });
const link = (name: string, linkname: string): RawEntry => ({ name, type: '2', linkname });
const hard = (name: string, linkname: string): RawEntry => ({ name, type: '1', linkname });

const refused: [string, RawEntry[], string, string][] = [
  ['a parent path', [file('../evil.txt')], '../evil.txt', "'..'"],
  ['a parent path inside a folder', [file('a/../../evil.txt')], 'a/../../evil.txt', "'..'"],
  ['an absolute path', [file('/abs/evil.txt')], '/abs/evil.txt', 'absolute'],
  ['a drive-letter path', [file('C:\\evil.txt')], 'C:\\evil.txt', 'drive letter'],
  ['a backslash-rooted path', [file('\\evil.txt')], '\\evil.txt', 'absolute'],
  ['a symlink to an absolute path', [link('passwd', '/etc/passwd')], 'passwd', 'absolute'],
  ['a symlink out of the folder', [dir('sub'), link('sub/out', '../../outside')], 'sub/out', 'outside'],
  ['a hard link to an absolute path', [hard('passwd', '/etc/passwd')], 'passwd', 'absolute'],
  ['a hard link out of the folder', [hard('h', '../outside')], 'h', "'..'"],
  ['a FIFO', [{ name: 'pipe', type: '6' }], 'pipe', 'FIFO'],
  ['a character device', [{ name: 'tty', type: '3' }], 'tty', 'CharacterDevice'],
  ['an unknown entry type', [{ name: 'odd', type: 'Z' }], 'odd', 'not allowed'],
  ['a write through an earlier symlink', [dir('sub'), link('l', 'sub'), file('l/x')], 'l/x', 'through'],
  ['a parent path after `evil -> .`', [link('evil', '.'), file('evil/../../x')], 'evil/../../x', "'..'"],
  ['a .. after a symlink', [dir('sub'), link('sub/a', '..'), link('b', 'sub/a/..')], 'b', 'after a name'],
  [
    'a hard link to a safe symlink',
    [dir('sub'), link('sub/s', '../ok.txt'), hard('h', 'sub/s')],
    'h',
    'not a file',
  ],
  ['a pax path out of the folder', [paxEntry({ path: '../pax.txt' }), file('plain')], '../pax.txt', "'..'"],
];

describe.each(['evil.tar', 'evil.tgz'])('extractArchive refuses %s with', (archiveName) => {
  it.each(refused)('%s', async (_what, entries, badPath, reason) => {
    // A first entry big enough to be on disk before a one-pass extractor reached the bad one.
    const archive = await writeTar(fixtures, archiveName, [file('ok.txt', randomBytes(1 << 20)), ...entries]);
    const err = await failure(extractArchive(archive, dest));
    expect(err).toBeInstanceOf(PathEscapeError);
    expect((err as PathEscapeError).path).toBe(badPath);
    expect((err as PathEscapeError).message).toContain(JSON.stringify(badPath));
    expect((err as PathEscapeError).message).toContain(reason);
    await expectNothingWritten();
  });
});

describe('extractArchive', () => {
  it.each([false, true])('extracts a nested tree byte-identical (gzip: %s)', async (gzip) => {
    const src = join(fixtures, 'src');
    await mkdir(join(src, 'dir/deeper'), { recursive: true });
    await mkdir(join(src, 'empty'));
    await writeFile(join(src, 'a.txt'), 'hello\n');
    await writeFile(join(src, 'dir/b.bin'), randomBytes(100_000));
    await writeFile(join(src, 'dir/deeper/c.txt'), '');
    const archive = join(fixtures, gzip ? 'in.tar.gz' : 'in.tar');
    await createTar({ cwd: src, file: archive, gzip, portable: true }, ['.']);
    expect(await extractArchive(archive, dest)).toEqual({ files: 3, bytes: 100_006 });
    expect(await tree(dest)).toEqual(await tree(src));
    expect(await readdir(root)).toEqual(['inputs']);
  });

  it('keeps a relative symlink that stays inside, pointing where it should', async () => {
    const entries = [
      file('other.txt', 'other'),
      dir('sub'),
      link('sub/link', '../other.txt'),
      link('evil', '.'),
    ];
    const archive = await writeTar(fixtures, 'links.tar', entries);
    await extractArchive(archive, dest);
    expect(await readlink(join(dest, 'sub/link'))).toBe('../other.txt');
    expect(await readFile(join(dest, 'sub/link'), 'utf8')).toBe('other');
    expect(await readlink(join(dest, 'evil'))).toBe('.');
  });

  it('keeps a hard link to a file earlier in the archive', async () => {
    const archive = await writeTar(fixtures, 'hard.tar', [file('a.txt', 'same'), hard('b.txt', 'a.txt')]);
    await extractArchive(archive, dest);
    expect((await lstat(join(dest, 'b.txt'))).ino).toBe((await lstat(join(dest, 'a.txt'))).ino);
  });

  it('refuses to write through a symlink already in the folder', async () => {
    const outside = join(root, 'outside');
    await mkdir(outside);
    await symlink(outside, join(dest, 'out'));
    const archive = await writeTar(fixtures, 'pwn.tar', [file('out/pwned.txt', 'pwned')]);
    const err = await failure(extractArchive(archive, dest));
    expect(err).toBeInstanceOf(PathEscapeError);
    expect((err as PathEscapeError).path).toBe('out/pwned.txt');
    expect(await readdir(outside)).toEqual([]);
    // node-tar's own protection, the second line of defence, holds on its own too.
    expect(await failure(unpackCheckedArchive(archive, dest))).toBeInstanceOf(PathEscapeError);
    expect(await readdir(outside)).toEqual([]);
    expect((await readdir(root)).sort()).toEqual(['inputs', 'outside']);
  });

  it('re-checks every entry while extracting (second pass alone)', async () => {
    // node-tar alone extracts this `b`, which resolves to the parent of `dest`.
    const entries = [dir('sub'), link('sub/a', '..'), link('b', 'sub/a/..')];
    const archive = await writeTar(fixtures, 'evil.tar', entries);
    const err = await failure(unpackCheckedArchive(archive, dest));
    expect(err).toBeInstanceOf(PathEscapeError);
    expect((err as PathEscapeError).path).toBe('b');
    await expect(lstat(join(dest, 'b'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(root)).toEqual(['inputs']);
  });

  it('stops an archive over the byte or entry limit', async () => {
    const archive = await writeTar(fixtures, 'big.tgz', [
      file('a', 'x'.repeat(600)),
      file('b', 'y'.repeat(600)),
    ]);
    const err = await failure(extractArchive(archive, dest, { maxBytes: 1000 }));
    expect(err).toBeInstanceOf(GpufleetError);
    expect((err as GpufleetError).code).toBe('INPUT_TOO_LARGE');
    expect((err as GpufleetError).message).toContain('more than 1000 bytes of files (limit maxBytes)');
    const many = await failure(extractArchive(archive, dest, { maxEntries: 1 }));
    expect((many as GpufleetError).message).toContain('more than 1 entries (limit maxEntries)');
    await expectNothingWritten();
    expect(DEFAULT_EXTRACT_LIMITS).toEqual({ maxBytes: 10 * 1024 ** 3, maxEntries: 100_000 });
  });

  it('refuses an entry that would overwrite the archive itself', async () => {
    const archive = await writeTar(dest, 'in.tar', [file('a.txt'), file('in.tar', 'clobbered')]);
    const before = await readFile(archive);
    const err = await failure(extractArchive(archive, dest));
    expect(err).toMatchObject({ code: 'INPUT_ARCHIVE_INVALID' });
    expect((err as Error).message).toContain('"in.tar" would overwrite the archive');
    expect(await readdir(dest)).toEqual(['in.tar']);
    expect(await readFile(archive)).toEqual(before);
  });

  it('reports a file that is not an archive', async () => {
    const path = join(fixtures, 'junk.tar');
    await writeFile(path, 'not a tar file at all, just some text '.repeat(40));
    expect(await failure(extractArchive(path, dest))).toMatchObject({ code: 'INPUT_ARCHIVE_INVALID' });
    await expectNothingWritten();
  });
});

describe('checkArchiveEntry', () => {
  it('judges entries against the ones before them', () => {
    const seen: SeenEntries = new Map();
    const accept = (name: string, type: string, linkpath?: string): void => {
      const verdict = checkArchiveEntry({ path: name, type, linkpath }, seen);
      expect(verdict).toMatchObject({ ok: true });
      if (verdict.ok) recordArchiveEntry(seen, verdict);
    };
    const reason = (name: string, type: string, linkpath?: string): string | undefined => {
      const verdict = checkArchiveEntry({ path: name, type, linkpath }, seen);
      return verdict.ok ? undefined : verdict.reason;
    };
    accept('./', 'Directory');
    accept('sub/', 'Directory');
    accept('sub/a.txt', 'File');
    expect(reason('.', 'File')).toContain('replace the extraction folder');
    expect(reason('x', 'Link', 'missing.txt')).toContain('not a file earlier');
    expect(reason('a\0b', 'File')).toContain('NUL');
    expect(reason('x', 'SymbolicLink', 'a\0b')).toContain('NUL');
    accept('sub/h', 'Link', 'sub/a.txt');
    accept('sub/l', 'SymbolicLink', 'a.txt');
    accept('sub/a.txt', 'File'); // a later file replaces a symlink's neighbour, fine
    expect(reason('sub/L/x', 'File')).toContain('through the symlink'); // case-folded
    expect(reason('sub/m', 'SymbolicLink', 'l')).toContain('through the symlink "sub/l"');
    accept('sub/l', 'File'); // replacing the link does not make it safe to write through
    expect(reason('sub/l/x', 'File')).toContain('through the symlink');
    expect(reason('h2', 'Link', 'sub/l')).toContain('not a file earlier');
  });
});

describe('archiveKind', () => {
  it.each([
    ['data.tar', 'tar'],
    ['DATA.TAR.GZ', 'tar.gz'],
    ['x.tgz', 'tar.gz'],
    ['x.gz', null],
    ['x.zip', null],
    ['tar', null],
  ] as const)('%s -> %s', (name, kind) => {
    expect(archiveKind(name)).toBe(kind);
  });
});
