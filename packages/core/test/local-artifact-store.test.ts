import { createHash, randomBytes } from 'node:crypto';
import type * as FsPromises from 'node:fs/promises';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { useTempDirs } from '@gpufleet/testkit';
import { describe, expect, it, vi } from 'vitest';
import { joinKey } from '../src/artifacts/artifact-key.js';
import { LocalArtifactStore } from '../src/artifacts/local-store.js';
import { DEFAULT_ARTIFACT_STORE, openArtifactStore } from '../src/artifacts/open-artifact-store.js';
import { ConfigError, InfraError, NotFoundError, PathEscapeError } from '../src/errors.js';

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

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keys(iterable: AsyncIterable<{ key: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const info of iterable) out.push(info.key);
  return out;
}

/** Every file path under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** `count` chunks of `size` bytes made by `make(i)`, yielding to the event loop between chunks. */
function slowStream(count: number, make: (i: number) => Buffer): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < count; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        yield make(i);
      }
    })(),
  );
}

describe('LocalArtifactStore', () => {
  it('round-trips bytes with the sha256 and size node:crypto computes', async () => {
    const { store, parent } = await newStore();
    const bytes = randomBytes(100_000);
    const key = joinKey('tenant', 'task-1', '0', 'out/model.bin');
    expect(await store.put(key, bytes)).toEqual({ key, size: bytes.length, sha256: sha256(bytes) });
    expect(sha256(await readAll(await store.get(key)))).toBe(sha256(bytes));
    expect(sha256(await readFile(join(parent, 'store', 'tenant/task-1/0/out/model.bin')))).toBe(
      sha256(bytes),
    );
    expect(await store.stat(key)).toEqual({ key, size: bytes.length });
    expect((await store.put('text', 'héllo')).size).toBe(Buffer.byteLength('héllo'));
    expect(store.description).toBe(pathToFileURL(join(parent, 'store')).href);
  });

  it('streams a 50 MB put and reads back the same bytes', async () => {
    const { store } = await newStore();
    const hash = createHash('sha256');
    const source = slowStream(50, () => {
      const chunk = randomBytes(1024 * 1024);
      hash.update(chunk);
      return chunk;
    });
    const result = await store.put('big', source);
    const written = hash.digest('hex');
    expect(result).toEqual({ key: 'big', size: 50 * 1024 * 1024, sha256: written });
    const readBack = createHash('sha256');
    for await (const chunk of await store.get('big')) readBack.update(chunk as Buffer);
    expect(readBack.digest('hex')).toBe(written);
  });

  it('reads an inclusive byte range', async () => {
    const { store } = await newStore();
    await store.put('r', '0123456789');
    expect((await readAll(await store.get('r', { start: 2, end: 5 }))).toString()).toBe('2345');
    expect((await readAll(await store.get('r', { start: 7 }))).toString()).toBe('789');
    await expect(store.get('r', { start: 5, end: 2 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('reports missing objects: stat null, get NotFoundError, nothing created', async () => {
    const { store, parent } = await newStore();
    expect(await store.stat('nope')).toBeNull();
    await expect(store.get('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.download('nope', join(parent, 'x'))).rejects.toBeInstanceOf(NotFoundError);
    expect(await keys(store.list(''))).toEqual([]);
    await store.put('a/b', 'x');
    expect(await store.stat('a')).toBeNull(); // a folder is not an object
    expect(await store.stat('a/b/c')).toBeNull();
    expect(await readdir(parent)).toEqual(['store']);
  });

  it('lists in key order with whole-segment prefixes, skipping temp files and symlinks', async () => {
    const { store, parent } = await newStore();
    const all = ['a/b/y', 'a/b/z/1', 'a/bc/x', 'a/b-c', 'a-c', 'a0', 'b', 'A'];
    for (const key of [...all].reverse()) await store.put(key, key);
    await writeFile(join(store.root, 'a', `.b-c.0123456789abcdef.tmp`), 'partial');
    await mkdir(join(parent, 'outside'));
    await writeFile(join(parent, 'outside', 'secret'), 'secret');
    await symlink(join(parent, 'outside'), join(store.root, 'link'));
    expect(await keys(store.list(''))).toEqual([...all].sort());
    expect(await keys(store.list('a/b'))).toEqual(['a/b/y', 'a/b/z/1']);
    expect(await keys(store.list('a/b/y'))).toEqual(['a/b/y']);
    expect(await keys(store.list('a/bc'))).toEqual(['a/bc/x']);
    expect(await keys(store.list('a/q'))).toEqual([]);
    await expect(keys(store.list('link'))).rejects.toBeInstanceOf(PathEscapeError);
    await expect(store.get('link/secret')).rejects.toBeInstanceOf(PathEscapeError);
  });

  it('deletes a prefix by whole segments; an absent prefix is fine', async () => {
    const { store } = await newStore();
    for (const key of ['a/b/1', 'a/b/c/2', 'a/bc/x', 'a/b-c']) await store.put(key, key);
    await store.deletePrefix('a/b');
    expect(await keys(store.list(''))).toEqual(['a/b-c', 'a/bc/x']);
    await store.deletePrefix('a/bc/x');
    await store.deletePrefix('missing/prefix');
    expect(await keys(store.list(''))).toEqual(['a/b-c']);
  });

  it.each(['../x', '/abs', 'a/../../b', 'a//b', 'a\\b', '', 'a/./b', 'a/', 'a\0b'])(
    'refuses the key %j and writes nothing outside the root',
    async (key) => {
      const { store, parent } = await newStore();
      await store.put('kept', 'k');
      const absolute = key === '/abs' ? join(parent, 'abs') : key;
      await expect(store.put(absolute, 'x')).rejects.toBeInstanceOf(PathEscapeError);
      await expect(store.get(absolute)).rejects.toBeInstanceOf(PathEscapeError);
      await expect(store.stat(absolute)).rejects.toBeInstanceOf(PathEscapeError);
      await expect(store.deletePrefix(absolute)).rejects.toBeInstanceOf(PathEscapeError);
      expect(await filesUnder(parent)).toEqual(['store/kept']);
    },
  );

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

  it('leaves neither the object nor a temp file when the source stream fails', async () => {
    const { store } = await newStore();
    await store.put('dir/kept', 'old');
    let reads = 0;
    const source = new Readable({
      read() {
        if (reads++ === 0) this.push(Buffer.alloc(1000, 1));
        else this.destroy(new Error('upload cut off'));
      },
    });
    const error = await store.put('dir/new', source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect(error).toMatchObject({ code: 'ARTIFACT_WRITE_FAILED', cause: { message: 'upload cut off' } });
    await expect(store.put('dir/kept', Readable.from(failingChunks()))).rejects.toBeInstanceOf(InfraError);
    const early = new Readable({ read() {} });
    const failedEarly = store.put('dir/early', early);
    early.destroy(new Error('gone before the first read'));
    await expect(failedEarly).rejects.toMatchObject({ cause: { message: 'gone before the first read' } });
    expect(await filesUnder(store.root)).toEqual(['dir/kept']);
    expect((await readAll(await store.get('dir/kept'))).toString()).toBe('old');
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

  it('downloads atomically to a local path', async () => {
    const { store, parent } = await newStore();
    const bytes = randomBytes(300_000);
    await store.put('in/data.bin', bytes);
    const destination = join(parent, 'work', 'inputs', 'data.bin');
    await store.download('in/data.bin', destination);
    expect(sha256(await readFile(destination))).toBe(sha256(bytes));
    expect(await readdir(join(parent, 'work', 'inputs'))).toEqual(['data.bin']);
  });
});

async function* failingChunks(): AsyncGenerator<Buffer> {
  yield Buffer.from('new bytes that must not land');
  throw new Error('source failed');
}

describe('openArtifactStore', () => {
  it('opens a folder path relative to cwd, and a file:// URL', async () => {
    const cwd = await temp.make('gpufleet-cwd-');
    const relative = openArtifactStore('stores/one', cwd);
    expect(relative.description).toBe(pathToFileURL(join(cwd, 'stores/one')).href);
    await relative.put('k', 'v');
    expect(await readFile(join(cwd, 'stores/one/k'), 'utf8')).toBe('v');
    const byUrl = openArtifactStore(pathToFileURL(join(cwd, 'stores/one')).href, '/elsewhere');
    expect((await readAll(await byUrl.get('k'))).toString()).toBe('v');
    expect(openArtifactStore(DEFAULT_ARTIFACT_STORE, cwd).description).toBe(
      pathToFileURL(join(cwd, '.gpufleet/artifacts')).href,
    );
  });

  it.each([
    ['s3://bucket/prefix', /S3 backend is not available yet/],
    ['ftp://x', /unsupported scheme "ftp:"/],
    ['', /not empty/],
    ['file://host/path', /not a usable file:\/\/ URL/],
  ])('refuses %j with a ConfigError naming ARTIFACT_STORE', (spec, reason) => {
    const error = (() => {
      try {
        openArtifactStore(spec, '/tmp');
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
