import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { useS3Server, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { S3Operation } from '@gpufleet/testkit';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { artifactStoreSettingsFrom } from '../src/artifacts/artifact-store-settings.js';
import { openArtifactStore } from '../src/artifacts/open-artifact-store.js';
import { S3ArtifactStore } from '../src/artifacts/s3-store.js';
import type { S3ArtifactStoreOptions } from '../src/artifacts/s3-store.js';
import { isTransientStoreError } from '../src/artifacts/transient-store-error.js';
import { InfraError, NotFoundError, ValidationError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import {
  describeArtifactStoreContract,
  keys,
  readAll,
  sha256,
  sha256OfStream,
} from './artifact-store-contract.js';

const MiB = 1024 * 1024;
const PREFIX = 'fleet/artifacts';
const s3 = useS3Server();
const temp = useTempDirs();
const stores: S3ArtifactStore[] = [];
let admin: S3Client;
let bucketCount = 0;

afterEach(() => vi.unstubAllEnvs());

beforeAll(() => {
  const { endpoint, region, credentials } = s3.server;
  admin = new S3Client({
    endpoint,
    region,
    credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  admin.destroy();
});

async function newBucket(): Promise<string> {
  const bucket = `bucket-${++bucketCount}-${randomBytes(3).toString('hex')}`;
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

function openStore(bucket: string, options: Partial<S3ArtifactStoreOptions> = {}): S3ArtifactStore {
  const { endpoint, region, credentials } = s3.server;
  const store = new S3ArtifactStore({
    bucket,
    prefix: PREFIX,
    endpoint,
    region,
    credentials,
    forcePathStyle: true,
    partSizeBytes: 5 * MiB,
    ...options,
  });
  stores.push(store);
  return store;
}

async function bucketKeys(bucket: string): Promise<string[]> {
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

async function pendingUploads(bucket: string): Promise<string[]> {
  const listed = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (listed.Uploads ?? []).map((upload) => upload.Key ?? '');
}

async function countRequests(operation: S3Operation): Promise<number> {
  return (await s3.server.requests()).filter((request) => request.operation === operation).length;
}

/** A logger whose messages the test can read. */
function capturedLogger(): { logger: Logger; messages: string[] } {
  const messages: string[] = [];
  const sink = new Writable({
    write(line: Buffer, _encoding, done): void {
      messages.push((JSON.parse(line.toString()) as { msg: string }).msg);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), messages };
}

/** `mib` random MiB chunks; after `openMib` of them it waits until `open()` is called. */
function gatedSource(mib: number, openMib: number): { source: Readable; open: () => void } {
  let open = (): void => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const source = Readable.from(
    (async function* () {
      for (let i = 0; i < mib; i++) {
        if (i === openMib) await gate;
        yield randomBytes(MiB);
      }
    })(),
  );
  return { source, open: () => open() };
}

/** Runs `test`, which kills the server; the server is started again if the test did not. */
async function killing(test: (restart: () => Promise<void>) => Promise<void>): Promise<void> {
  let back = false;
  const restart = async (): Promise<void> => {
    await s3.server.restart();
    back = true;
  };
  try {
    await test(restart);
  } finally {
    if (!back) await s3.server.restart();
  }
}

describeArtifactStoreContract('S3 (s3rver)', async () => {
  const bucket = await newBucket();
  const scratch = await temp.make('gpufleet-scratch-');
  return { store: openStore(bucket), scratch, backendObjects: () => bucketKeys(bucket) };
});

describe('S3ArtifactStore', () => {
  it('keeps key k as object <prefix>/k with its sha256 as x-amz-meta-sha256', async () => {
    const bucket = await newBucket();
    const store = openStore(bucket);
    expect(store.description).toBe(`s3://${bucket}/${PREFIX}`);
    const { sha256: digest } = await store.put('t1/task/0/out.txt', 'hello');
    expect(await bucketKeys(bucket)).toEqual([`${PREFIX}/t1/task/0/out.txt`]);
    const head = await admin.send(
      new HeadObjectCommand({ Bucket: bucket, Key: `${PREFIX}/t1/task/0/out.txt` }),
    );
    expect(head.Metadata).toEqual({ sha256: digest });
    expect(digest).toBe(sha256(Buffer.from('hello')));
  });

  it('uploads a body bigger than a part in parts, byte for byte, leaving no multipart upload', async () => {
    const bucket = await newBucket();
    const store = openStore(bucket, { partSizeBytes: 5 * MiB });
    const bytes = randomBytes(20 * MiB + 123);
    await s3.server.resetRequests();
    const result = await store.put(
      'big/model.bin',
      Readable.from([bytes.subarray(0, 7 * MiB), bytes.subarray(7 * MiB)]),
    );
    expect(result).toEqual({ key: 'big/model.bin', size: bytes.length, sha256: sha256(bytes) });
    expect(await countRequests('CreateMultipartUpload')).toBe(1);
    expect(await countRequests('UploadPart')).toBe(5);
    expect(await countRequests('CompleteMultipartUpload')).toBe(1);
    expect(await countRequests('PutObject')).toBe(0);
    expect(await sha256OfStream(await store.get('big/model.bin'))).toBe(sha256(bytes));
    expect(await store.stat('big/model.bin')).toEqual({ key: 'big/model.bin', size: bytes.length });
    expect(await pendingUploads(bucket)).toEqual([]);
  });

  it('retries a part the server fails with 503, and completes', async () => {
    const bucket = await newBucket();
    const store = openStore(bucket, { maxAttempts: 3 });
    const bytes = randomBytes(12 * MiB);
    await s3.server.resetRequests();
    await s3.server.failNext({ operation: 'UploadPart', count: 2, status: 503 });
    expect((await store.put('retried.bin', bytes)).sha256).toBe(sha256(bytes));
    expect(await countRequests('UploadPart')).toBe(3 + 2);
    expect(await sha256OfStream(await store.get('retried.bin'))).toBe(sha256(bytes));
  });

  it('aborts the multipart upload when a part keeps failing: no object, no parts left', async () => {
    const bucket = await newBucket();
    const store = openStore(bucket, { maxAttempts: 2 });
    await s3.server.resetRequests();
    await s3.server.failNext({ operation: 'UploadPart', count: 1000, status: 500, code: 'InternalError' });
    const error = await store.put('doomed.bin', randomBytes(12 * MiB)).catch((e: unknown) => e);
    await s3.server.resetRequests(); // clears the remaining faults
    expect(error).toBeInstanceOf(InfraError);
    expect(error).toMatchObject({
      code: 'ARTIFACT_WRITE_FAILED',
      message: expect.stringMatching(/InternalError/),
    });
    expect(isTransientStoreError(error)).toBe(true);
    expect(await pendingUploads(bucket)).toEqual([]);
    expect(await bucketKeys(bucket)).toEqual([]);
  });

  it('aborts the multipart upload when the source fails after some parts', async () => {
    const bucket = await newBucket();
    const store = openStore(bucket);
    await s3.server.resetRequests();
    const source = Readable.from(
      (async function* () {
        for (let i = 0; i < 12; i++) yield randomBytes(MiB);
        throw new Error('the executer output vanished');
      })(),
    );
    const error = await store.put('partial.bin', source).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ARTIFACT_WRITE_FAILED',
      cause: { message: 'the executer output vanished' },
    });
    expect(await countRequests('UploadPart')).toBeGreaterThan(0);
    expect(await countRequests('AbortMultipartUpload')).toBe(1);
    expect(await pendingUploads(bucket)).toEqual([]);
    expect(await bucketKeys(bucket)).toEqual([]);
  });

  it('fails a put whose server is killed mid-upload, and aborts it once the server is back', async () => {
    const bucket = await newBucket();
    const { logger, messages } = capturedLogger();
    const store = openStore(bucket, { maxAttempts: 2, abortRetryMs: 30_000, logger });
    await s3.server.resetRequests();
    const { source, open } = gatedSource(40, 15);
    const put = store.put('job/out.bin', source).catch((e: unknown) => e);
    await waitFor(async () => (await countRequests('UploadPart')) > 0, { message: 'a part upload' });
    await killing(async (restart) => {
      await s3.server.kill();
      open();
      const aborting = /^abort of multipart upload \w+ of artifact "job\/out.bin" .* failed; retrying/;
      await waitFor(() => messages.some((m) => aborting.test(m)), {
        timeoutMs: 20_000,
        message: 'an abort retry',
      });
      await restart();
    });
    const error = await put;
    expect(error).toBeInstanceOf(InfraError);
    expect(error).toMatchObject({
      code: 'ARTIFACT_WRITE_FAILED',
      message: expect.stringContaining('job/out.bin'),
    });
    expect((error as Error).message).not.toMatch(/could not be aborted/);
    expect(isTransientStoreError(error)).toBe(true);
    expect(await pendingUploads(bucket)).toEqual([]);
    expect(await bucketKeys(bucket)).toEqual([]);
  }, 60_000);

  it('says which multipart upload it could not abort; deletePrefix removes it later', async () => {
    const bucket = await newBucket();
    const store = openStore(bucket, { maxAttempts: 1, abortRetryMs: 1_000 });
    await s3.server.resetRequests();
    const { source, open } = gatedSource(40, 15);
    const put = store.put('job/out.bin', source).catch((e: unknown) => e);
    await waitFor(async () => (await countRequests('UploadPart')) > 0, { message: 'a part upload' });
    let error: unknown;
    await killing(async (restart) => {
      await s3.server.kill();
      open();
      error = await put;
      await restart();
    });
    expect(error).toMatchObject({
      code: 'ARTIFACT_WRITE_FAILED',
      message: expect.stringMatching(/could not be aborted/),
    });
    expect(await pendingUploads(bucket)).toEqual([`${PREFIX}/job/out.bin`]);
    await store.deletePrefix('job');
    expect(await pendingUploads(bucket)).toEqual([]);
  }, 60_000);

  it('hands out a presigned GET URL that works until it expires', async () => {
    const store = openStore(await newBucket());
    await store.put('shared/report.txt', 'presigned bytes');
    const url = await store.presignedGetUrl('shared/report.txt', 2_000);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('2');
    const before = await fetch(url);
    expect(before.status).toBe(200);
    expect(await before.text()).toBe('presigned bytes');
    const refusal = await waitFor(
      async () => {
        const response = await fetch(url);
        return response.status === 403 && (await response.text());
      },
      { timeoutMs: 10_000, intervalMs: 250, message: 'the URL to expire' },
    );
    expect(refusal).toMatch(/Request has expired/);
    await expect(store.presignedGetUrl('shared/report.txt', 500)).rejects.toBeInstanceOf(ValidationError);
    await expect(store.presignedGetUrl('shared/report.txt', 8 * 24 * 3600_000)).rejects.toBeInstanceOf(
      ValidationError,
    );
  }, 20_000);

  it('refuses a download whose bytes do not match the stored x-amz-meta-sha256', async () => {
    const bucket = await newBucket();
    const store = openStore(bucket);
    const wrong = sha256(Buffer.from('something else'));
    const Key = `${PREFIX}/in/tampered.bin`;
    await admin.send(
      new PutObjectCommand({ Bucket: bucket, Key, Body: 'tampered', Metadata: { sha256: wrong } }),
    );
    const scratch = await temp.make('gpufleet-scratch-');
    const error = await store.download('in/tampered.bin', join(scratch, 'x')).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ARTIFACT_CORRUPT',
      message: expect.stringContaining('x-amz-meta-sha256'),
    });
    expect(await readdir(scratch)).toEqual([]);
  });

  it('lists page by page in key order, skipping keys that are not artifact keys', async () => {
    const bucket = await newBucket();
    const store = openStore(bucket, { listPageSize: 2 });
    const all = ['p/a', 'p/b/1', 'p/b/2', 'p/c', 'p/d', 'p/e', 'p/f'];
    for (const key of all) await store.put(key, key);
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: `${PREFIX}/p/back\\slash`, Body: 'odd' }));
    await s3.server.resetRequests();
    expect(await keys(store.list('p'))).toEqual(all);
    expect(await countRequests('ListObjects')).toBe(4);
    expect(await readAll(await store.get('p/e'))).toEqual(Buffer.from('p/e'));
  });

  it('reports a server that is down as a transient InfraError, a missing bucket as a lasting one', async () => {
    const down = openStore(await newBucket(), { maxAttempts: 1 });
    await killing(async () => {
      await s3.server.kill();
      const error = await down.stat('k').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ARTIFACT_READ_FAILED' });
      expect(isTransientStoreError(error)).toBe(true);
    });
    const noBucket = openStore('no-such-bucket', { maxAttempts: 1 });
    const error = await noBucket.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect(error).not.toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ message: expect.stringContaining('NoSuchBucket') });
    expect(isTransientStoreError(error)).toBe(false);
  });

  it('is what openArtifactStore makes of s3://bucket/prefix and the S3_* variables', async () => {
    const bucket = await newBucket();
    const store = openArtifactStore(
      artifactStoreSettingsFrom(`s3://${bucket}/team-a/`, '/unused', s3.server.env),
    );
    try {
      expect(store).toBeInstanceOf(S3ArtifactStore);
      expect(store.description).toBe(`s3://${bucket}/team-a`);
      await store.put('t/k', 'through the env');
      expect(await bucketKeys(bucket)).toEqual(['team-a/t/k']);
      expect((await readAll(await store.get('t/k'))).toString()).toBe('through the env');
    } finally {
      await store.close();
    }
  });

  it('is opened from its settings alone: process.env (here pointing elsewhere) is not read', async () => {
    const bucket = await newBucket();
    const settings = artifactStoreSettingsFrom(`s3://${bucket}/team-b`, '/unused', s3.server.env);
    vi.stubEnv('S3_ENDPOINT', 'http://127.0.0.1:1');
    vi.stubEnv('S3_FORCE_PATH_STYLE', 'maybe');
    vi.stubEnv('S3_PART_SIZE_MB', 'x');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'not-the-server-key');
    const store = openArtifactStore(settings);
    try {
      await store.put('t/k', 'from the settings');
      expect(await bucketKeys(bucket)).toEqual(['team-b/t/k']);
      expect((await readAll(await store.get('t/k'))).toString()).toBe('from the settings');
    } finally {
      await store.close();
    }
  });
});
