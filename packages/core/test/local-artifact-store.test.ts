import { randomBytes } from 'node:crypto';
import type * as FsPromises from 'node:fs/promises';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { useTempDirs } from '@gpufleet/testkit';
import { describe, expect, it, vi } from 'vitest';
import { joinKey } from '../src/artifacts/artifact-key.js';
import type { ArtifactStore } from '../src/artifacts/artifact-store.js';
import { LocalArtifactStore } from '../src/artifacts/local-store.js';
import {
  artifactStoreSettingsFrom,
  DEFAULT_ARTIFACT_STORE,
} from '../src/artifacts/artifact-store-settings.js';
import { openArtifactStore } from '../src/artifacts/open-artifact-store.js';
import { ConfigError, InfraError, PathEscapeError } from '../src/errors.js';
import {
  describeArtifactStoreContract,
  keys,
  readAll,
  sha256,
  slowStream,
} from './artifact-store-contract.js';

// Writes through file handles fail with this code while it is set (simulates a full disk).
const failWrites = vi.hoisted(() => ({ code: null as string | null }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof FsPromises>();
  const open = async (...args: Parameters<typeof real.open>): Promise<FsPromises.FileHandle> => {
    const handle = await real.open(...args);
    const code = failWrites.code;
    if (code === null) return handle;
    const write = (): Promise<never> => Promise.reject(Object.assign(new Error(`${code}: write`), { code }));
    return new Proxy(handle, {
      get(target, property) {
        if (property === 'write') return write;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return { ...real, open, default: { ...real, open } };
});

const temp = useTempDirs();

async function newStore(): Promise<{ store: LocalArtifactStore; parent: string }> {
  const parent = await temp.make('gpufleet-store-');
  return { store: new LocalArtifactStore(join(parent, 'store')), parent };
}

/** Every file path under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describeArtifactStoreContract('folder', async () => {
  const { store, parent } = await newStore();
  const scratch = await temp.make('gpufleet-scratch-');
  return { store, scratch, backendObjects: () => filesUnder(parent) };
});

describe('LocalArtifactStore', () => {
  it('keeps key a/b/c as the file <root>/a/b/c and describes itself as a file URL', async () => {
    const { store, parent } = await newStore();
    const bytes = randomBytes(100_000);
    const key = joinKey('tenant', 'task-1', '0', 'out/model.bin');
    await store.put(key, bytes);
    expect(sha256(await readFile(join(parent, 'store', 'tenant/task-1/0/out/model.bin')))).toBe(
      sha256(bytes),
    );
    expect(await filesUnder(parent)).toEqual(['store/tenant/task-1/0/out/model.bin']);
    expect(store.description).toBe(pathToFileURL(join(parent, 'store')).href);
    expect((store as ArtifactStore).presignedGetUrl).toBeUndefined();
  });

  it('lists no temp files and follows no symlink out of the root', async () => {
    const { store, parent } = await newStore();
    await store.put('a/b-c', 'x');
    await writeFile(join(store.root, 'a', `.b-c.0123456789abcdef.tmp`), 'partial');
    await mkdir(join(parent, 'outside'));
    await writeFile(join(parent, 'outside', 'secret'), 'secret');
    await symlink(join(parent, 'outside'), join(store.root, 'link'));
    expect(await keys(store.list(''))).toEqual(['a/b-c']);
    await expect(keys(store.list('link'))).rejects.toBeInstanceOf(PathEscapeError);
    await expect(store.get('link/secret')).rejects.toBeInstanceOf(PathEscapeError);
  });

  // S3 gives this by the protocol (PutObject and CompleteMultipartUpload are atomic), but s3rver,
  // the S3 server of the tests, writes objects in place; so it is checked on the folder only.
  it('never shows a reader part of an object being overwritten', async () => {
    const { store } = await newStore();
    const oldBytes = Buffer.alloc(6 * 1024 * 1024, 'a');
    const newBytes = Buffer.alloc(8 * 1024 * 1024, 'b');
    await store.put('model', oldBytes);
    let writing = true;
    const put = store
      .put(
        'model',
        slowStream(128, (i) => newBytes.subarray(i * 65536, (i + 1) * 65536)),
      )
      .finally(() => (writing = false));
    const seen = { old: 0, new: 0 };
    while (writing) {
      const bytes = await readAll(await store.get('model'));
      if (bytes.equals(oldBytes)) seen.old++;
      else if (bytes.equals(newBytes)) seen.new++;
      else throw new Error(`a reader saw ${bytes.length} bytes that are neither the old nor the new object`);
    }
    await put;
    expect(seen.old).toBeGreaterThan(0);
    expect(sha256(await readAll(await store.get('model')))).toBe(sha256(newBytes));
  });

  it('leaves no temp file when the source stream fails', async () => {
    const { store } = await newStore();
    await store.put('dir/kept', 'old');
    await expect(store.put('dir/new', Readable.from(failingChunks()))).rejects.toBeInstanceOf(InfraError);
    expect(await readdir(join(store.root, 'dir'))).toEqual(['kept']);
  });

  it('turns a full disk (ENOSPC) into ARTIFACT_WRITE_FAILED and cleans up', async () => {
    const { store } = await newStore();
    failWrites.code = 'ENOSPC';
    try {
      const error = await store.put('full', randomBytes(10_000)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InfraError);
      expect(error).toMatchObject({ code: 'ARTIFACT_WRITE_FAILED', cause: { code: 'ENOSPC' } });
    } finally {
      failWrites.code = null;
    }
    expect(await filesUnder(store.root)).toEqual([]);
  });
});

async function* failingChunks(): AsyncGenerator<Buffer> {
  yield Buffer.from('new bytes that must not land');
  throw new Error('source failed');
}

describe('openArtifactStore', () => {
  it('opens a folder path relative to cwd, and a file:// URL', async () => {
    const cwd = await temp.make('gpufleet-cwd-');
    const relative = openArtifactStore(artifactStoreSettingsFrom('stores/one', cwd));
    expect(relative.description).toBe(pathToFileURL(join(cwd, 'stores/one')).href);
    await relative.put('k', 'v');
    expect(await readFile(join(cwd, 'stores/one/k'), 'utf8')).toBe('v');
    const byUrl = openArtifactStore(
      artifactStoreSettingsFrom(pathToFileURL(join(cwd, 'stores/one')).href, '/elsewhere'),
    );
    expect((await readAll(await byUrl.get('k'))).toString()).toBe('v');
    expect(openArtifactStore(artifactStoreSettingsFrom(DEFAULT_ARTIFACT_STORE, cwd)).description).toBe(
      pathToFileURL(join(cwd, '.gpufleet/artifacts')).href,
    );
  });

  it.each([
    ['s3://Bad_Bucket/prefix', /is not a bucket name/],
    ['s3://bucket/a/../b', /prefix of "s3:\/\/bucket\/a\/..\/b" is not usable/],
    ['ftp://x', /unsupported scheme "ftp:"/],
    ['', /not empty/],
    ['file://host/path', /not a usable file:\/\/ URL/],
  ])('refuses %j with a ConfigError naming ARTIFACT_STORE', (spec, reason) => {
    const error = (() => {
      try {
        openArtifactStore(artifactStoreSettingsFrom(spec, '/tmp', {}));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { field: 'ARTIFACT_STORE', reason: expect.stringMatching(reason) },
    ]);
  });
});
