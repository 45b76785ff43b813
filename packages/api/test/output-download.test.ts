// Downloads of one output file from the folder store over a real socket: the store's stream is
// never read (the API reads the file itself into reused buffers), the bytes of whole files and of
// ranges that cross its buffers are right, keep-alive goes on working, HEAD sends no body, the
// request log still gets its line, and the file is closed whether the download ends, the client
// goes away in the middle, or the file turns out shorter than its manifest says (an error answer
// if that shows before the headers went out, a cut connection after). The same ranges through a
// store whose streams are not files (as S3's) come out the same.
import { once } from 'node:events';
import { truncate } from 'node:fs/promises';
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { attemptPrefix, fileSourceOf, type ArtifactStore, type LocalArtifactStore } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { BUFFERS, CHUNK_BYTES } from '../src/outputs/send-file-source.js';
import { auth, jsonLineSink, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { finishedTask } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();

// More than all the buffers of one download hold, and not a multiple of a buffer.
const SIZE = CHUNK_BYTES * (BUFFERS + 2) + 12_345;
const big = Buffer.alloc(SIZE);
for (let i = 0; i + 4 <= SIZE; i += 4) big.writeUInt32LE(i, i);
const files = { 'big.bin': big, 'small.txt': Buffer.from('small'), 'empty.txt': Buffer.alloc(0) };

/** Holds the next get() of the recording store until `open` (`entered` says it is waiting). */
let hold: { entered: () => void; opened: Promise<void> } | null = null;

/** Streams the store's get returned, in order; `pipe` hands out PassThroughs instead (as S3 would). */
function recordingStore(store: LocalArtifactStore, opened: Readable[], pipe = false): ArtifactStore {
  return {
    description: store.description,
    put: store.put.bind(store),
    get: async (key, range) => {
      if (hold) {
        hold.entered();
        await hold.opened;
      }
      const stream = await store.get(key, range);
      opened.push(stream);
      return pipe ? stream.pipe(new PassThrough()) : stream;
    },
    stat: store.stat.bind(store),
    list: store.list.bind(store),
    deletePrefix: store.deletePrefix.bind(store),
    download: store.download.bind(store),
    close: store.close.bind(store),
  };
}

interface Download {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** All of Content-Length arrived. */
  complete: boolean;
}

function download(
  base: string,
  path: string,
  options: { headers?: Record<string, string>; method?: string; agent?: Agent } = {},
): Promise<Download> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? 'GET',
        agent: options.agent ?? false, // a new connection, unless the test brings an agent
        headers: { ...auth(KEYS.alice), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', () => undefined); // 'aborted': seen as complete === false
        res.on('close', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            complete: res.complete,
          }),
        );
      },
    )
      .on('error', reject)
      .end();
  });
}

/** Resolves once the stream is closed, which closes its file. */
async function closed(stream: Readable): Promise<void> {
  if (!stream.closed) await once(stream, 'close');
}

/** The store's stream served the bytes without being read, and its file is closed. */
async function expectFileClosedUnread(stream: Readable | undefined): Promise<void> {
  if (!stream) throw new Error('the store opened no stream');
  expect(stream.readableDidRead).toBe(false);
  await closed(stream);
  expect(stream.destroyed).toBe(true);
}

const RANGES: Array<[string, number, number]> = [
  ['bytes=0-0', 0, 0],
  [`bytes=${CHUNK_BYTES - 10}-${3 * CHUNK_BYTES + 5}`, CHUNK_BYTES - 10, 3 * CHUNK_BYTES + 5],
  [`bytes=${CHUNK_BYTES + 1}-`, CHUNK_BYTES + 1, SIZE - 1],
  ['bytes=-100', SIZE - 100, SIZE - 1],
  [`bytes=100-${SIZE * 2}`, 100, SIZE - 1],
];

describe('from the folder store', () => {
  const opened: Readable[] = [];
  const lines: Array<Record<string, unknown>> = [];
  let api: TestApi;
  let id: string;
  let base: string;

  beforeAll(async () => {
    api = await startTestApi(redis.server, temp, {
      wrapStore: (store) => recordingStore(store, opened),
      logger: pino({ level: 'info' }, jsonLineSink(lines)),
    });
    id = await finishedTask(api, { ...files, 'short.bin': big, 'short-head.bin': big });
    base = await api.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => api.close());

  it('sends whole files from their own file reads, on a connection that stays usable', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const [path, body] of Object.entries(files)) {
        const res = await download(base, `/v1/tasks/${id}/outputs/${path}`, { agent });
        expect(res).toMatchObject({ status: 200, complete: true });
        expect(res.body.equals(body)).toBe(true);
        expect(res.headers).toMatchObject({
          'content-length': String(body.length),
          'accept-ranges': 'bytes',
          'x-content-type-options': 'nosniff',
        });
        expect(res.headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
        expect(res.headers['x-request-id']).toBeTruthy();
        await expectFileClosedUnread(opened.at(-1));
      }
      // One keep-alive socket served all three.
      expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
    } finally {
      agent.destroy();
    }
  });

  it.each(RANGES)('answers Range %s with 206 and exactly those bytes', async (range, start, end) => {
    const res = await download(base, `/v1/tasks/${id}/outputs/big.bin`, { headers: { range } });
    expect(res).toMatchObject({ status: 206, complete: true });
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${SIZE}`);
    expect(res.headers['content-length']).toBe(String(end - start + 1));
    expect(res.body.equals(big.subarray(start, end + 1))).toBe(true);
    await expectFileClosedUnread(opened.at(-1));
    const logged = lines.filter((l) => l.msg === 'request completed').at(-1);
    expect(logged).toMatchObject({ route: '/v1/tasks/:id/outputs/*', taskId: id, status: 206 });
  });

  it('answers HEAD with the headers only, reading nothing', async () => {
    const res = await download(base, `/v1/tasks/${id}/outputs/big.bin`, { method: 'HEAD' });
    expect(res).toMatchObject({ status: 200, complete: true });
    expect(res.headers['content-length']).toBe(String(SIZE));
    expect(res.body.length).toBe(0);
    await expectFileClosedUnread(opened.at(-1));
  });

  it('closes the file when the client goes away in the middle', async () => {
    const url = new URL(base);
    const count = opened.length;
    const received = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: `/v1/tasks/${id}/outputs/big.bin`,
          headers: auth(KEYS.alice),
          agent: false,
        },
        (res) => {
          res.once('data', (chunk: Buffer) => {
            req.destroy();
            resolve(chunk.length);
          });
        },
      );
      req.on('error', () => undefined);
      req.on('close', () => reject(new Error('closed before any byte came')));
      req.end();
    });
    expect(received).toBeLessThan(SIZE);
    expect(opened).toHaveLength(count + 1);
    await expectFileClosedUnread(opened.at(-1));
    // The server goes on serving.
    const next = await download(base, `/v1/tasks/${id}/outputs/small.txt`);
    expect(next.body.toString()).toBe('small');
  });

  it('closes the file when the client went away before the headers were written', async () => {
    const url = new URL(base);
    let entered!: () => void;
    let open!: () => void;
    const waiting = new Promise<void>((resolve) => (entered = resolve));
    hold = { entered, opened: new Promise<void>((resolve) => (open = resolve)) };
    const connected = once(api.app.server, 'connection') as Promise<[Socket]>;
    const req = request({
      host: url.hostname,
      port: url.port,
      path: `/v1/tasks/${id}/outputs/big.bin`,
      headers: auth(KEYS.alice),
      agent: false,
    });
    req.on('error', () => undefined);
    req.end();
    const count = opened.length;
    const [socket] = await connected;
    await waiting; // the request is in the store's get()
    req.destroy();
    await once(socket, 'close');
    hold = null;
    open();
    await vi.waitFor(() => expect(opened).toHaveLength(count + 1));
    await expectFileClosedUnread(opened.at(-1));
  });

  it('cuts the connection when the file is shorter than its manifest says, and closes it', async () => {
    const key = `${attemptPrefix('alice', id, 1)}/outputs/short.bin`;
    await truncate(join(api.store.root, key), CHUNK_BYTES + 7);
    const res = await download(base, `/v1/tasks/${id}/outputs/short.bin`);
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(SIZE));
    expect(res.complete).toBe(false);
    // What was read before the short read went out whole, then the connection closed.
    expect(res.body.equals(big.subarray(0, CHUNK_BYTES))).toBe(true);
    await expectFileClosedUnread(opened.at(-1));
  });

  it('answers 503 when the file is short before its first buffer is full, and closes it', async () => {
    const key = `${attemptPrefix('alice', id, 1)}/outputs/short-head.bin`;
    await truncate(join(api.store.root, key), 10);
    const res = await download(base, `/v1/tasks/${id}/outputs/short-head.bin`);
    expect(res).toMatchObject({ status: 503, complete: true });
    expect(JSON.parse(res.body.toString()).error.code).toBe('ARTIFACT_STORE_UNAVAILABLE');
    // An error answer, not the file's: no attachment, no ETag, no caching.
    expect(res.headers['content-disposition']).toBeUndefined();
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['cache-control']).toBeUndefined();
    await expectFileClosedUnread(opened.at(-1));
    const failed = lines.find((l) => l.msg === 'request failed');
    expect(failed).toMatchObject({ code: 'ARTIFACT_STORE_UNAVAILABLE' });
    expect(JSON.stringify(failed?.err)).toContain('ARTIFACT_CORRUPT');
  });
});

describe('from a store whose streams are not files', () => {
  it('pipes the stream, with the same bytes, ranges and headers', async () => {
    const opened: Readable[] = [];
    const api = await startTestApi(redis.server, temp, {
      wrapStore: (store) => recordingStore(store, opened, true),
    });
    try {
      const taskId = await finishedTask(api, files);
      const base = await api.app.listen({ port: 0, host: '127.0.0.1' });
      const whole = await download(base, `/v1/tasks/${taskId}/outputs/big.bin`);
      expect(whole).toMatchObject({ status: 200, complete: true });
      expect(whole.body.equals(big)).toBe(true);
      expect(opened.at(-1)?.readableDidRead).toBe(true); // the stream, not the file, was read
      for (const [range, start, end] of RANGES) {
        const res = await download(base, `/v1/tasks/${taskId}/outputs/big.bin`, { headers: { range } });
        expect(res.status).toBe(206);
        expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${SIZE}`);
        expect(res.body.equals(big.subarray(start, end + 1))).toBe(true);
      }
      expect(opened.every((stream) => fileSourceOf(stream) === null)).toBe(true); // all were read
    } finally {
      await api.close();
    }
  });
});
