// LocalArtifactStore.putFile: a file on the store's file system is moved into place (rename, no
// copy) after being hashed; a hard-linked file is copied, since its other name could change it.
import { randomBytes } from 'node:crypto';
import { chmod, link, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDirs } from '@gpufleet/testkit';
import { describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../src/artifacts/local-store.js';
import { storeFile } from '../src/artifacts/store-file.js';
import { PathEscapeError } from '../src/errors.js';
import { sha256 } from './artifact-store-contract.js';

const temp = useTempDirs();

async function setup(): Promise<{ store: LocalArtifactStore; root: string; file: string; bytes: Buffer }> {
  const parent = await temp.make('gpufleet-putfile-');
  const root = join(parent, 'store');
  const file = join(parent, 'work-file.bin');
  const bytes = randomBytes(300_000);
  await writeFile(file, bytes);
  return { store: new LocalArtifactStore(root), root, file, bytes };
}

describe('LocalArtifactStore.putFile', () => {
  it('moves the file into place without copying it, and reports its size and sha256', async () => {
    const { store, root, file, bytes } = await setup();
    const inode = (await stat(file)).ino;
    const result = await store.putFile('t/task/1/outputs/a.bin', file);
    expect(result).toEqual({ key: 't/task/1/outputs/a.bin', size: bytes.length, sha256: sha256(bytes) });
    const stored = join(root, 't/task/1/outputs/a.bin');
    expect((await stat(stored)).ino).toBe(inode);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(sha256(await readFile(stored))).toBe(sha256(bytes));
  });

  it('takes a size and digest the caller already computed instead of reading the file', async () => {
    const { store, file } = await setup();
    const known = { size: 300_000, sha256: 'ab'.repeat(32) };
    expect(await store.putFile('k/from-caller', file, known)).toEqual({ key: 'k/from-caller', ...known });
  });

  it('copies a file that has another hard link, leaving that one as it was', async () => {
    const { store, root, file, bytes } = await setup();
    const other = `${file}.link`;
    await link(file, other);
    const result = await store.putFile('k/linked', file);
    expect(result.sha256).toBe(sha256(bytes));
    const stored = join(root, 'k/linked');
    expect((await stat(stored)).ino).not.toBe((await stat(other)).ino);
    expect(sha256(await readFile(other))).toBe(sha256(bytes));
  });

  it('makes a file the executer left private readable like any stored object', async () => {
    const { store, root, file } = await setup();
    await chmod(file, 0o600);
    await store.putFile('k/private', file);
    expect((await stat(join(root, 'k/private'))).mode & 0o777).toBe(0o644);
  });

  it('refuses a key that leaves the store, and leaves the file where it was', async () => {
    const { store, file, bytes } = await setup();
    await expect(store.putFile('../outside', file)).rejects.toBeInstanceOf(PathEscapeError);
    expect(sha256(await readFile(file))).toBe(sha256(bytes));
  });

  it('storeFile streams the file into a store without putFile', async () => {
    const { store, file, bytes } = await setup();
    const plain = { put: store.put.bind(store) } as unknown as LocalArtifactStore;
    const result = await storeFile(plain, 'k/streamed', file);
    expect(result.sha256).toBe(sha256(bytes));
    expect(sha256(await readFile(file))).toBe(sha256(bytes)); // copied, not moved
  });
});
