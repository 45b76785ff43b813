/**
 * What every ArtifactStore backend must do, as a function that registers a `describe` block:
 * local-artifact-store.test.ts runs it against the folder backend, s3-artifact-store.test.ts
 * against the S3 backend and a real S3-protocol server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { joinKey } from '../src/artifacts/artifact-key.js';
import type { ArtifactStore } from '../src/artifacts/artifact-store.js';
import { InfraError, NotFoundError, PathEscapeError, ValidationError } from '../src/errors.js';

/** A fresh, empty store and a way to look at the backend underneath it. */
export interface ContractSubject {
  store: ArtifactStore;
  /** An empty folder for download destinations. */
  scratch: string;
  /** Everything the backend holds, as its own paths (files under a folder, keys in a bucket), sorted. */
  backendObjects(): Promise<string[]>;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function keys(iterable: AsyncIterable<{ key: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const info of iterable) out.push(info.key);
  return out;
}

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** The hex sha256 of a stream's bytes, without holding them. */
export async function sha256OfStream(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `count` chunks made by `make(i)`, yielding to the event loop between chunks. */
export function slowStream(count: number, make: (i: number) => Buffer): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < count; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        yield make(i);
      }
    })(),
  );
}

async function* failingChunks(): AsyncGenerator<Buffer> {
  yield Buffer.from('new bytes that must not land');
  throw new Error('source failed');
}

const BAD_KEYS = ['../x', '/abs', 'a/../../b', 'a//b', 'a\\b', '', 'a/./b', 'a/', 'a\0b'];

export function describeArtifactStoreContract(name: string, open: () => Promise<ContractSubject>): void {
  describe(`ArtifactStore contract: ${name}`, () => {
    it('round-trips bytes with the sha256 and size node:crypto computes', async () => {
      const { store } = await open();
      const bytes = randomBytes(100_000);
      const key = joinKey('tenant', 'task-1', '0', 'out/model.bin');
      expect(await store.put(key, bytes)).toEqual({ key, size: bytes.length, sha256: sha256(bytes) });
      expect(sha256(await readAll(await store.get(key)))).toBe(sha256(bytes));
      expect(await store.stat(key)).toEqual({ key, size: bytes.length });
      expect((await store.put('text', 'héllo')).size).toBe(Buffer.byteLength('héllo'));
      expect((await readAll(await store.get('text'))).toString()).toBe('héllo');
      await store.put('text', 'replaced');
      expect((await readAll(await store.get('text'))).toString()).toBe('replaced');
    });

    it('streams a 50 MB put and reads back the same bytes', async () => {
      const { store } = await open();
      const hash = createHash('sha256');
      const source = slowStream(50, () => {
        const chunk = randomBytes(1024 * 1024);
        hash.update(chunk);
        return chunk;
      });
      const result = await store.put('big', source);
      const written = hash.digest('hex');
      expect(result).toEqual({ key: 'big', size: 50 * 1024 * 1024, sha256: written });
      expect(await sha256OfStream(await store.get('big'))).toBe(written);
      expect(await store.stat('big')).toEqual({ key: 'big', size: 50 * 1024 * 1024 });
    });

    it('reads an inclusive byte range; a range past the end reads nothing', async () => {
      const { store } = await open();
      await store.put('r', '0123456789');
      expect((await readAll(await store.get('r', { start: 2, end: 5 }))).toString()).toBe('2345');
      expect((await readAll(await store.get('r', { start: 7 }))).toString()).toBe('789');
      expect((await readAll(await store.get('r', { start: 7, end: 100 }))).toString()).toBe('789');
      expect((await readAll(await store.get('r', { start: 10 }))).toString()).toBe('');
      await expect(store.get('r', { start: 5, end: 2 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(store.get('r', { start: -1 })).rejects.toBeInstanceOf(ValidationError);
      await expect(store.get('missing', { start: 0 })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('reports missing objects: stat null, get and download NotFoundError, nothing created', async () => {
      const { store, scratch, backendObjects } = await open();
      expect(await store.stat('nope')).toBeNull();
      await expect(store.get('nope')).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.download('nope', join(scratch, 'x'))).rejects.toBeInstanceOf(NotFoundError);
      expect(await keys(store.list(''))).toEqual([]);
      expect(await backendObjects()).toEqual([]);
      await store.put('a/b', 'x');
      expect(await store.stat('a')).toBeNull(); // a "folder" is not an object
      expect(await store.stat('a/b/c')).toBeNull();
      expect(await readdir(scratch)).toEqual([]);
    });

    it('lists in key order with whole-segment prefixes', async () => {
      const { store } = await open();
      const all = ['a/b/y', 'a/b/z/1', 'a/bc/x', 'a/b-c', 'a-c', 'a0', 'b', 'A'];
      for (const key of [...all].reverse()) await store.put(key, key);
      expect(await keys(store.list(''))).toEqual([...all].sort());
      expect(await keys(store.list('a/b'))).toEqual(['a/b/y', 'a/b/z/1']);
      expect(await keys(store.list('a/b/y'))).toEqual(['a/b/y']);
      expect(await keys(store.list('a/bc'))).toEqual(['a/bc/x']);
      expect(await keys(store.list('a/q'))).toEqual([]);
      const sizes: number[] = [];
      for await (const info of store.list('a/b/z')) sizes.push(info.size);
      expect(sizes).toEqual([Buffer.byteLength('a/b/z/1')]);
    });

    it('deletes a prefix by whole segments; an absent prefix is fine', async () => {
      const { store } = await open();
      for (const key of ['a/b/1', 'a/b/c/2', 'a/bc/x', 'a/b-c']) await store.put(key, key);
      await store.deletePrefix('a/b');
      expect(await keys(store.list(''))).toEqual(['a/b-c', 'a/bc/x']);
      await store.deletePrefix('a/bc/x');
      await store.deletePrefix('missing/prefix');
      expect(await keys(store.list(''))).toEqual(['a/b-c']);
    });

    it.each(BAD_KEYS)('refuses the key %j and touches nothing in the backend', async (key) => {
      const { store, scratch, backendObjects } = await open();
      await store.put('kept', 'k');
      const before = await backendObjects();
      await expect(store.put(key, 'x')).rejects.toBeInstanceOf(PathEscapeError);
      await expect(store.get(key)).rejects.toBeInstanceOf(PathEscapeError);
      await expect(store.stat(key)).rejects.toBeInstanceOf(PathEscapeError);
      await expect(store.deletePrefix(key)).rejects.toBeInstanceOf(PathEscapeError);
      await expect(store.download(key, join(scratch, 'x'))).rejects.toBeInstanceOf(PathEscapeError);
      if (key !== '') await expect(keys(store.list(key))).rejects.toBeInstanceOf(PathEscapeError);
      if (store.presignedGetUrl) {
        await expect(store.presignedGetUrl(key, 60_000)).rejects.toBeInstanceOf(PathEscapeError);
      }
      expect(await backendObjects()).toEqual(before);
      expect(await keys(store.list(''))).toEqual(['kept']);
    });

    it('leaves no object and keeps the old one when the source stream fails', async () => {
      const { store, backendObjects } = await open();
      await store.put('dir/kept', 'old');
      const before = await backendObjects();
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
      expect(await backendObjects()).toEqual(before);
      expect((await readAll(await store.get('dir/kept'))).toString()).toBe('old');
    });

    it('downloads atomically to a local path', async () => {
      const { store, scratch } = await open();
      const bytes = randomBytes(300_000);
      const { sha256: digest } = await store.put('in/data.bin', bytes);
      const destination = join(scratch, 'work', 'inputs', 'data.bin');
      await store.download('in/data.bin', destination, { sha256: digest });
      expect(sha256(await readFile(destination))).toBe(sha256(bytes));
      expect(await readdir(join(scratch, 'work', 'inputs'))).toEqual(['data.bin']);
    });

    it('refuses a download whose bytes do not match the manifest sha256, leaving no file', async () => {
      const { store, scratch } = await open();
      await store.put('in/data.bin', randomBytes(50_000));
      const destination = join(scratch, 'data.bin');
      const wrong = sha256(Buffer.from('other bytes'));
      const error = await store
        .download('in/data.bin', destination, { sha256: wrong })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InfraError);
      expect(error).toMatchObject({ code: 'ARTIFACT_CORRUPT', message: expect.stringContaining(wrong) });
      expect(await readdir(scratch)).toEqual([]);
      await expect(store.download('in/data.bin', destination, { sha256: 'xyz' })).rejects.toBeInstanceOf(
        ValidationError,
      );
    });
  });
}
