// The client library against a real fleet: submit with a streamed input folder and upload
// progress, follow, events, wait, download (progress, sha256 check, files already there kept),
// and the Idempotency-Key that makes a retried submit return the same task.
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import {
  ApiRequestError,
  GpufleetClient,
  type DownloadProgress,
  type LogLine,
  type UploadProgress,
} from '@gpufleet/api-client';
import { startCliFleet, writeFiles, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;
let client: GpufleetClient;

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
  client = new GpufleetClient({ url: fleet.url, token: fleet.token });
});
afterAll(async () => {
  await fleet?.close();
});

describe('GpufleetClient', () => {
  it('submits a folder, follows the lines and the events, waits and downloads', async () => {
    const job = join(await temp.make(), 'job');
    await writeFiles(job, {
      'run.sh':
        '#!/bin/sh\nfor i in 1 2 3; do echo "step $i"; done\necho oops >&2\ncp data.bin "$GPUFLEET_OUTPUT_DIR/"\n',
      'data.bin': Buffer.alloc(300_000, 3),
    });
    const uploads: UploadProgress[] = [];
    const task = await client.submit(
      { executer: 'script', params: { script: 'run.sh' }, gpus: 1 },
      { inputs: [job], onUploadProgress: (p) => uploads.push(p) },
    );
    expect(task.submission).toMatchObject({ id: task.id, status: 'queued', replayed: false });
    expect(uploads.at(-1)).toMatchObject({ bytes: uploads.at(-1)?.totalBytes, filesDone: 2, files: 2 });
    expect(uploads.map((u) => u.bytes)).toEqual([...uploads.map((u) => u.bytes)].sort((a, b) => a - b));

    const lines: LogLine[] = [];
    for await (const line of task.follow()) lines.push(line);
    // Each stream keeps its order; between the two, lines are ordered only to the tracker's
    // reading rounds of its log files (docs/architecture.md), so they are compared per stream.
    const of = (stream: string) => lines.filter((l) => l.stream === stream).map((l) => l.text);
    expect(lines).toHaveLength(4);
    expect(of('stdout')).toEqual(['step 1', 'step 2', 'step 3']);
    expect(of('stderr')).toEqual(['oops']);
    const statuses = [];
    for await (const event of task.events()) if (event.type === 'status') statuses.push(event.status);
    expect(statuses).toEqual(['succeeded']); // it had ended: the stream opens with the final status
    const done = await task.wait();
    expect(done).toMatchObject({ id: task.id, status: 'succeeded', exitCode: 0 });

    const dir = await temp.make();
    const progress: DownloadProgress[] = [];
    const first = await task.download(dir, { onProgress: (p) => progress.push(p) });
    expect(first.files.map((f) => f.path).sort()).toEqual(['data.bin', 'stderr.txt', 'stdout.txt']);
    expect(first.files.every((f) => !f.skipped)).toBe(true);
    expect(progress.at(-1)).toMatchObject({
      bytes: first.bytes,
      totalBytes: first.bytes,
      filesDone: 3,
      files: 3,
    });
    const data = await readFile(join(dir, 'data.bin'));
    expect(createHash('sha256').update(data).digest('hex')).toBe(
      first.files.find((f) => f.path === 'data.bin')?.sha256,
    );

    // Again: what is there is kept; a damaged file is fetched again.
    const handle = await open(join(dir, 'data.bin'), 'r+');
    await handle.write(Buffer.from([9]), 0, 1, 1000);
    await handle.close();
    const second = await client.task(task.id).download(dir);
    expect(Object.fromEntries(second.files.map((f) => [f.path, f.skipped]))).toEqual({
      'data.bin': false,
      'stderr.txt': true,
      'stdout.txt': true,
    });
    expect((await readFile(join(dir, 'data.bin'))).equals(Buffer.alloc(300_000, 3))).toBe(true);
    const only = await task.download(await temp.make(), { files: ['stdout.txt'] });
    expect(only.files.map((f) => f.path)).toEqual(['stdout.txt']);
  });

  it('follows status events of a running task to its end', async () => {
    const task = await client.submit({ executer: 'probe', params: { sleepMs: 300 } });
    const events = [];
    for await (const event of task.events()) events.push(event);
    const statuses = events.filter((e) => e.type === 'status').map((e) => e.status);
    expect(statuses.at(-1)).toBe('succeeded');
    expect(statuses).toContain('running');
    expect(new Set(statuses).size).toBe(statuses.length);
  });

  it('sends its own Idempotency-Key: a submit whose answer was lost and is retried makes one task', async () => {
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      calls++;
      if (calls === 1) throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      return response;
    };
    const lossy = new GpufleetClient({ url: fleet.url, token: fleet.token, fetch: flaky });
    const task = await lossy.submit({ executer: 'probe', params: { sleepMs: 1 } });
    expect(calls).toBe(2);
    expect(task.submission.replayed).toBe(true); // the first request had made it
    const mine = [];
    for await (const t of client.tasks({ executer: 'probe' })) {
      const view = await client.getTask(t.id);
      if (view.idempotencyKey === task.idempotencyKey) mine.push(t.id);
    }
    expect(mine).toEqual([task.id]);
    const again = await client.submit(
      { executer: 'probe', params: { sleepMs: 1 } },
      { idempotencyKey: task.idempotencyKey },
    );
    expect(again.id).toBe(task.id);
  });

  it('answers errors with the API’s code', async () => {
    const error = await client.getTask('01jd3xk4m7n8p9q0r1s2t3v4w5').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiRequestError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    const invalid = await client
      .submit({ executer: 'probe', params: { sleepMs: -1 } })
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect((invalid as ApiRequestError).issues[0]?.field).toBe('params.sleepMs');
  });
});
