// Alone in its file (so in its own process) to start from a clean RSS: a 200 MiB put to S3 must
// stream, not hold the body. The S3 server runs in a child process, so its memory is not counted.
// A put holds about (queueSize + 2) parts; on top of that come parts not yet garbage collected and
// freed memory that glibc keeps, as much again or more (a plain lib-storage Upload shows the same).
// With 5 MiB parts one at a time that is about 30 MB, well under the bound; with the defaults
// (8 MiB x 4) it is about 110-135 MB, which bench/s3-upload.ts measures for a 1 GiB put.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { useS3Server } from '@gpufleet/testkit';
import { expect, it } from 'vitest';
import { S3ArtifactStore } from '../src/artifacts/s3-store.js';
import { sha256OfStream } from './artifact-store-contract.js';

const MiB = 1024 * 1024;
const s3 = useS3Server();

/** `count` MiB made from one random MiB, each stamped with its index, hashed as they go. */
function generated(count: number, hash: ReturnType<typeof createHash>): Readable {
  const base = randomBytes(MiB);
  return Readable.from(
    (async function* () {
      for (let i = 0; i < count; i++) {
        const chunk = Buffer.from(base);
        chunk.writeUInt32BE(i, 0);
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
}

it('streams a 200 MiB put with RSS growing by less than 60 MB', async () => {
  const { endpoint, region, credentials, bucket } = s3.server;
  const store = new S3ArtifactStore({
    bucket,
    prefix: 'mem',
    endpoint,
    region,
    credentials,
    forcePathStyle: true,
    partSizeBytes: 5 * MiB,
    queueSize: 1,
  });
  try {
    await store.put('warm-up', randomBytes(12 * MiB)); // loads the SDK's code paths before measuring
    const hash = createHash('sha256');
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const result = await store
      .put('big/200mib.bin', generated(200, hash))
      .finally(() => clearInterval(sampler));
    peak = Math.max(peak, process.memoryUsage().rss);
    const digest = hash.digest('hex');
    expect(result).toEqual({ key: 'big/200mib.bin', size: 200 * MiB, sha256: digest });
    expect((peak - before) / MiB).toBeLessThan(60);
    expect(await sha256OfStream(await store.get('big/200mib.bin'))).toBe(digest);
  } finally {
    await store.close();
  }
}, 120_000);

// Guards the test above: it must be able to fail, so a put that held the body would be caught.
it('sees the RSS growth of holding a 200 MiB body', async () => {
  const before = process.memoryUsage().rss;
  const held = Buffer.concat(Array.from({ length: 200 }, () => Buffer.alloc(MiB, 1)));
  expect((process.memoryUsage().rss - before) / MiB).toBeGreaterThan(150);
  expect(held.length).toBe(200 * MiB);
});
