// An artifact store outage during the upload of a task's outputs: retried with backoff, so a short
// outage costs only time; one that outlasts the limit ends the task failed with the storage error,
// and the attempt's partial outputs are removed. A task is succeeded only once its manifest is stored.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  enqueue,
  InfraError,
  LocalArtifactStore,
  queueKeys,
  type ArtifactInfo,
  type ArtifactStore,
  type PutResult,
} from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs } from '@gpufleet/testkit';
import { startTestTracker, useTrackers, waitForFinal } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

/** A local store whose puts fail like a dropped connection while `failing()` says so. */
class OutageStore implements ArtifactStore {
  readonly description: string;
  puts = 0;
  failures = 0;
  constructor(
    private readonly inner: LocalArtifactStore,
    private readonly failing: (put: number) => boolean,
  ) {
    this.description = `outage(${inner.description})`;
  }
  async put(key: string, source: Readable | Buffer | string): Promise<PutResult> {
    this.puts++;
    if (this.failing(this.puts)) {
      this.failures++;
      if (source instanceof Readable) source.destroy();
      const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      throw new InfraError(
        'ARTIFACT_WRITE_FAILED',
        `could not write artifact "${key}": socket hang up`,
        cause,
      );
    }
    return this.inner.put(key, source);
  }
  get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    return this.inner.get(key, range);
  }
  stat(key: string): Promise<ArtifactInfo | null> {
    return this.inner.stat(key);
  }
  list(prefix: string): AsyncIterable<ArtifactInfo> {
    return this.inner.list(prefix);
  }
  deletePrefix(prefix: string): Promise<void> {
    return this.inner.deletePrefix(prefix);
  }
  download(key: string, destination: string): Promise<void> {
    return this.inner.download(key, destination);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function run(failing: (put: number) => boolean, uploadRetryMs: number) {
  const artifactDir = await temp.make();
  const local = new LocalArtifactStore(artifactDir);
  const store = new OutageStore(local, failing);
  const prefix = uniquePrefix();
  const tracker = await startTestTracker({
    redisUrl: redis.server.url,
    prefix,
    artifactDir,
    workDir: await temp.make(),
    store,
    uploadRetryMs,
  });
  trackers.push(tracker);
  const client = redis.server.client();
  const { id } = await enqueue(
    { redis: client, prefix },
    { executer: 'probe', gpus: 0, params: { files: { 'a.txt': 'A', 'b.txt': 'B' } } },
  );
  const task = await waitForFinal(client, queueKeys(prefix, 'default'), id);
  const stored: string[] = [];
  for await (const info of local.list(`default/${id}`)) stored.push(info.key);
  return { task, store, stored };
}

describe('artifact store outages during upload', () => {
  it('rides out a short outage: the puts are retried and the task succeeds with all its outputs', async () => {
    const { task, store, stored } = await run((put) => put >= 2 && put <= 4, 20_000);
    expect(task.status).toBe('succeeded');
    expect(task.errorCode).toBeNull();
    expect(store.failures).toBe(3);
    expect(task.outputs?.files.map((f) => f.path).sort()).toEqual([
      'a.txt',
      'b.txt',
      'report.json',
      'stderr.txt',
      'stdout.txt',
    ]);
    expect(stored).toContain(`default/${task.id}/1/manifest.json`);
  });

  it('fails the task with the storage error when the outage outlasts the limit, leaving no partial outputs', async () => {
    const { task, stored } = await run((put) => put >= 3, 1500);
    expect(task.status).toBe('failed');
    expect(task.error).toMatch(
      /^uploading outputs failed \(its partial outputs were removed\): .*socket hang up/,
    );
    expect(task.outputs).toBeNull();
    expect(task.errorCode).toBe('OUTPUTS_NOT_STORED');
    expect(stored).toEqual([]);
  });
});
