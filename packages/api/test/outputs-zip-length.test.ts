// outputs.zip sends exactly its Content-Length, on both sides of each ZIP64 threshold: a central
// directory of 64 KiB (about 1,000 files: yazl counted 76 bytes of ZIP64 end records there that
// it did not write, and clients waited for them), 65,535 entries, and 4 GiB (a file's size, a
// file's offset, the central directory's offset). Each zip streamed here is counted and read back
// with yauzl, a reader apart from the writer. Zips of 65,535 entries or 4 GiB take minutes on a
// small machine (yazl's work grows with the square of the entry count; 4 GiB of CRC-32 in
// JavaScript), so by default their announced length is checked against the ZIP format's
// (zipLayout), which the streamed zips check in turn; GPUFLEET_TEST_HUGE_ZIPS=1 streams them too.
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArtifactStore, type ArtifactStore, type OutputFile, type OutputManifest } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { zipOutputs } from '../src/outputs/outputs-zip.js';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { finishedTask } from './helpers/fake-tracker.js';
import { readZip, saveZip, TAIL_BYTES, zipLayout } from './helpers/zip-check.js';

const redis = useRedis();
const temp = useTempDirs();
const HUGE = process.env.GPUFLEET_TEST_HUGE_ZIPS === '1';
const mtime = new Date('2024-05-01T12:00:00Z');

interface Download {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Content-Length was reached before the connection closed. */
  complete: boolean;
}

/**
 * GET with `Connection: close`, read to the end: a body shorter than its Content-Length then
 * shows as a connection closed early instead of a client left waiting for the keep-alive timeout.
 */
function download(base: string, path: string): Promise<Download> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { ...auth(KEYS.alice), connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => undefined); // "aborted": told by `complete`
      res.on('close', () =>
        resolve({ headers: res.headers, body: Buffer.concat(chunks), complete: res.complete }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /v1/tasks/:id/outputs.zip of 1,000 files', () => {
  let api: TestApi;
  let base: string;
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 1000; i++) {
    files.set(`frames/frame-${String(i).padStart(4, '0')}.txt`, Buffer.from(`frame ${i}\n`.repeat(i % 40)));
  }

  beforeAll(async () => {
    api = await startTestApi(redis.server, temp);
    base = await api.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => api.close());

  it('sends as many bytes as its Content-Length, a zip with every file', async () => {
    const id = await finishedTask(api, Object.fromEntries(files));
    const res = await download(base, `/v1/tasks/${id}/outputs.zip`);
    const layout = zipLayout([...files].map(([path, body]) => ({ path, size: body.length })));
    expect(layout.centralDirectorySize).toBeGreaterThan(0xffff); // past yazl's miscount
    expect({ complete: res.complete, received: res.body.length }).toEqual({
      complete: true,
      received: Number(res.headers['content-length']),
    });
    expect(res.body.length).toBe(layout.length);
    const entries = await readZip(res.body);
    expect([...entries.keys()]).toEqual([...files.keys()]);
    for (const [path, entry] of entries) expect(entry.data.equals(files.get(path) as Buffer)).toBe(true);
  });
});

describe('zips around a central directory of 64 KiB', () => {
  let store: LocalArtifactStore;
  const manifest: OutputManifest = { prefix: 'cd', attempt: 1, files: [] };
  const body = (path: string): Buffer => Buffer.from(`${path}\n`);
  // 999 files with 10-byte names, then one whose name brings the central directory to the size.
  const common = Array.from({ length: 999 }, (_, i) => `f/${String(i).padStart(4, '0')}.txt`);
  const last = (centralDirectoryBytes: number): string => {
    const before = zipLayout(common.map((path) => ({ path, size: 0 }))).centralDirectorySize;
    const nameBytes = centralDirectoryBytes - before - (46 + 9);
    return `pad/${'x'.repeat(200)}/${'y'.repeat(200)}/${'z'.repeat(nameBytes - 410)}.txt`;
  };

  beforeAll(async () => {
    store = new LocalArtifactStore(join(await temp.make(), 'artifacts'));
    for (const path of [...common, last(0xfffe), last(0xffff), last(0x10000)]) {
      const put = await store.put(`${manifest.prefix}/${path}`, body(path));
      manifest.files.push({ path, size: put.size, sha256: put.sha256 });
    }
  });

  it.each([
    ['0xfffe bytes (no ZIP64 end records)', 0xfffe, false],
    ['0xffff bytes', 0xffff, true],
    ['0x10000 bytes', 0x10000, true],
  ])('of %s is as long as announced', async (_label, centralDirectoryBytes, zip64End) => {
    const files = [...common, last(centralDirectoryBytes)].map(
      (path) => manifest.files.find((f) => f.path === path) as OutputFile,
    );
    const layout = zipLayout(files);
    expect(layout).toMatchObject({ centralDirectorySize: centralDirectoryBytes, zip64End });
    const zip = zipOutputs(store, manifest, files, { compress: false, mtime });
    const path = join(await temp.make(), 'out.zip');
    expect({ announced: zip.size, sent: await saveZip(zip.stream, path) }).toEqual({
      announced: layout.length,
      sent: layout.length,
    });
    const entries = await readZip(path);
    expect([...entries.keys()]).toEqual(files.map((f) => f.path));
    for (const [name, entry] of entries) expect(entry.data.equals(body(name))).toBe(true);
  });
});

const G = 0xffffffff;
const marker = (name: string): Buffer => Buffer.from(`${name} lies past the big file\n`);
/** A file of `size` bytes, then two small ones (their sizes from `marker`). */
function bigThenSmall(size: number): OutputFile[] {
  return [
    { path: 'big.bin', size, sha256: '' },
    { path: 'm.txt', size: marker('m.txt').length, sha256: '' },
    { path: 'n.txt', size: marker('n.txt').length, sha256: '' },
  ];
}
/** The size of big.bin that puts m.txt's local header at `offset`. */
const mAt = (offset: number): number =>
  offset - zipLayout([{ path: 'big.bin', size: 0 }]).centralDirectoryOffset;
/** The size of big.bin that puts the central directory at `offset`. */
const centralAt = (offset: number): number => offset - zipLayout(bigThenSmall(0)).centralDirectoryOffset;

const entryCounts = (count: number): OutputFile[] =>
  Array.from({ length: count }, (_, i) => ({ path: `e/${String(i).padStart(5, '0')}`, size: 0, sha256: '' }));

const HUGE_CASES: Array<[string, OutputFile[]]> = [
  ['65,534 entries', entryCounts(65_534)],
  ['65,535 entries', entryCounts(65_535)],
  ['65,536 entries', entryCounts(65_536)],
  ['a central directory at 0xfffffffe', bigThenSmall(centralAt(G - 1))],
  ['a central directory at 0xffffffff', bigThenSmall(centralAt(G))],
  ['a local header at 0xfffffffe, across 4 GiB', bigThenSmall(mAt(G - 1))],
  ['a file of 0xfffffffe bytes', bigThenSmall(G - 1)],
  ['a file of 0xffffffff bytes', bigThenSmall(G)],
];

/** A folder store holding `files` under `prefix`: sparse files of zeros, but the markers and big.bin's tail. */
async function hugeStore(prefix: string, files: readonly OutputFile[]): Promise<ArtifactStore> {
  const root = join(await temp.make(), 'artifacts');
  await mkdir(join(root, prefix, 'e'), { recursive: true });
  for (let i = 0; i < files.length; i += 256) {
    await Promise.all(
      files.slice(i, i + 256).map(async (file) => {
        const path = join(root, prefix, file.path);
        if (file.path.endsWith('.txt')) return writeFile(path, marker(file.path));
        await writeFile(path, file.path === 'big.bin' ? '' : Buffer.alloc(file.size));
        if (file.size > TAIL_BYTES) {
          await truncate(path, file.size - TAIL_BYTES);
          await writeFile(path, Buffer.alloc(TAIL_BYTES, 0xa5), { flag: 'a' });
        }
      }),
    );
  }
  return new LocalArtifactStore(root);
}

describe('zips of 65,535 entries and of 4 GiB', () => {
  it('are built to sit on either side of each threshold', () => {
    const centralBelow = zipLayout(bigThenSmall(centralAt(G - 1)));
    expect(centralBelow).toMatchObject({ centralDirectoryOffset: G - 1, zip64End: false });
    expect(zipLayout(bigThenSmall(centralAt(G)))).toMatchObject({
      centralDirectoryOffset: G,
      zip64End: true,
    });
    const mOffset = zipLayout(bigThenSmall(mAt(G - 1)).slice(0, 1)).centralDirectoryOffset;
    expect(mOffset).toBe(G - 1);
  });

  // A store that is never read: these zips are only weighed.
  const unread = { get: () => new Promise(() => undefined) } as unknown as ArtifactStore;
  it.each(HUGE_CASES)('with %s announce the length of the ZIP format', (_label, files) => {
    const zip = zipOutputs(unread, { prefix: 'huge', attempt: 1, files }, files, { compress: false, mtime });
    zip.stream.destroy();
    expect(zip.size).toBe(zipLayout(files).length);
  });

  it.runIf(HUGE).each(HUGE_CASES)(
    'with %s send as many bytes as announced, read back whole',
    async (_label, files) => {
      const store = await hugeStore('huge', files);
      const zip = zipOutputs(store, { prefix: 'huge', attempt: 1, files }, files, { compress: false, mtime });
      const path = join(await temp.make(), 'huge.zip');
      expect({ announced: zip.size, sent: await saveZip(zip.stream, path) }).toEqual({
        announced: zipLayout(files).length,
        sent: zipLayout(files).length,
      });
      const entries = await readZip(path);
      expect([...entries].map(([name, entry]) => [name, entry.size])).toEqual(
        files.map((f) => [f.path, f.size]),
      );
      for (const [name, entry] of entries) {
        if (name.endsWith('.txt')) expect(entry.data.equals(marker(name))).toBe(true);
        if (name === 'big.bin') expect(entry.data.equals(Buffer.alloc(TAIL_BYTES, 0xa5))).toBe(true);
      }
    },
    15 * 60_000,
  );
});
