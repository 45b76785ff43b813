/**
 * S3 upload bench: puts one generated file (1 GiB by default) to a local S3-protocol server
 * (s3rver, in a child process) through S3ArtifactStore.put and through a plain lib-storage Upload
 * with the same client settings, part size and queue size, alternating the two. Each upload runs
 * in a fresh worker process, so each RSS figure starts from the same state; between uploads the
 * object is deleted and the disk synced. Reports the throughput ratio, the peak RSS growth of the
 * uploading process, and the CPU time of the uploader and of the server (which is the bottleneck).
 *
 *   npx tsx --conditions=source bench/s3-upload.ts [--size-mib 1024] [--rounds 3] [--dry-run]
 *
 * (without --conditions=source the packages' built dist/ is used: npx tsc -b packages/core packages/testkit).
 * --dry-run says what it would do and runs one 64 MiB round, to check the wiring quickly.
 */
import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { S3_STORE_DEFAULTS, S3ArtifactStore } from '@gpufleet/core';
import { makeTempDir, removeDir, startS3Server } from '@gpufleet/testkit';

const MiB = 1024 * 1024;
const BUCKET = 'bench';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }; // s3rver's fixed account
const { partSizeBytes, queueSize } = S3_STORE_DEFAULTS;

type Way = 'store' | 'plain';

interface Job {
  way: Way;
  file: string;
  key: string;
  endpoint: string;
  serverPid: number;
}

interface Sample {
  way: Way;
  seconds: number;
  mibPerSecond: number;
  rssGrowthMib: number;
  uploaderCpuSeconds: number;
  serverCpuSeconds: number;
}

const round = (n: number): number => Math.round(n * 100) / 100;
const mean = (ns: number[]): number => round(ns.reduce((a, b) => a + b, 0) / ns.length);

function clientFor(endpoint: string): S3Client {
  return new S3Client({
    ...{ endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: S3_STORE_DEFAULTS.maxAttempts },
    credentials: CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** User + system CPU seconds of a process, from /proc (Linux). */
async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100; // utime, stime in clock ticks
}

/** In a worker process: one upload, measured. */
async function runJob(job: Job): Promise<Sample> {
  const client = clientFor(job.endpoint);
  const { endpoint } = job;
  const store = new S3ArtifactStore({
    bucket: BUCKET,
    endpoint,
    credentials: CREDENTIALS,
    forcePathStyle: true,
  });
  const upload = async (key: string, body: ReturnType<typeof createReadStream> | Buffer): Promise<unknown> =>
    job.way === 'store'
      ? store.put(key, body)
      : new Upload({
          client,
          params: { Bucket: BUCKET, Key: key, Body: body },
          partSize: partSizeBytes,
          queueSize,
        }).done();
  try {
    await upload(`${job.key}.warm-up`, randomBytes(3 * partSizeBytes)); // code paths, connections
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const cpu = process.cpuUsage();
    const serverCpu = await cpuSecondsOf(job.serverPid);
    const started = performance.now();
    await upload(job.key, createReadStream(job.file)).finally(() => clearInterval(sampler));
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const { size } = await stat(job.file);
    return {
      way: job.way,
      seconds: round(seconds),
      mibPerSecond: round(size / MiB / seconds),
      rssGrowthMib: round((Math.max(peak, process.memoryUsage().rss) - before) / MiB),
      uploaderCpuSeconds: round((used.user + used.system) / 1e6),
      serverCpuSeconds: round((await cpuSecondsOf(job.serverPid)) - serverCpu),
    };
  } finally {
    await store.close();
    client.destroy();
  }
}

/** Runs `job` in a fresh process (same node flags, so the same loader) and returns its sample. */
function inWorker(job: Job): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--worker', JSON.stringify(job)], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'ignore', 'ipc'],
    });
    child.once('message', (sample) => resolve(sample as Sample));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker exited with ${code}`))));
  });
}

/** Writes `mib` MiB of random-looking bytes (one random MiB, each copy stamped with its index). */
async function makeFile(path: string, mib: number): Promise<void> {
  const base = randomBytes(MiB);
  const handle = await open(path, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      base.writeUInt32BE(i, 0);
      await handle.write(base);
    }
  } finally {
    await handle.close();
  }
}

async function main(sizeMib: number, rounds: number, dryRun: boolean): Promise<void> {
  console.log(
    `S3 upload bench: ${sizeMib} MiB file, ${rounds} round(s) of plain + store, each in a fresh ` +
      `process, parts of ${partSizeBytes / MiB} MiB, queue ${queueSize}${dryRun ? ' (dry run)' : ''}`,
  );
  const dir = await makeTempDir('gpufleet-s3-bench-');
  const server = await startS3Server({ buckets: [BUCKET] });
  const admin = clientFor(server.endpoint);
  try {
    const file = join(dir, 'output.bin');
    await makeFile(file, sizeMib);
    const samples: Sample[] = [];
    for (let i = 0; i < rounds; i++) {
      const ways: Way[] = i % 2 === 0 ? ['plain', 'store'] : ['store', 'plain']; // neither always first
      for (const way of ways) {
        execFileSync('sync'); // no writeback of the last upload left to slow this one
        const key = `round-${i}/${way}.bin`;
        const sample = await inWorker({ way, file, key, endpoint: server.endpoint, serverPid: server.pid });
        console.log(JSON.stringify(sample));
        samples.push(sample);
        for (const k of [key, `${key}.warm-up`])
          await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }));
      }
    }
    const of = (way: Way): Sample[] => samples.filter((s) => s.way === way);
    const plainRate = mean(of('plain').map((s) => s.mibPerSecond));
    const storeRate = mean(of('store').map((s) => s.mibPerSecond));
    const summary = {
      sizeMib,
      rounds,
      plainMibPerSecond: plainRate,
      storeMibPerSecond: storeRate,
      ratio: round(storeRate / plainRate),
      ratiosPerRound: Array.from({ length: rounds }, (_, r) => {
        const [a, b] = samples.slice(2 * r, 2 * r + 2);
        return a && b
          ? round((a.way === 'store' ? a : b).mibPerSecond / (a.way === 'plain' ? a : b).mibPerSecond)
          : null;
      }),
      storeRssGrowthMibMax: Math.max(...of('store').map((s) => s.rssGrowthMib)),
      plainRssGrowthMibMax: Math.max(...of('plain').map((s) => s.rssGrowthMib)),
      storeUploaderCpuSeconds: mean(of('store').map((s) => s.uploaderCpuSeconds)),
      plainUploaderCpuSeconds: mean(of('plain').map((s) => s.uploaderCpuSeconds)),
      serverCpuSeconds: mean(samples.map((s) => s.serverCpuSeconds)),
      wallSeconds: mean(samples.map((s) => s.seconds)),
    };
    console.log(JSON.stringify({ summary }, null, 2));
  } finally {
    admin.destroy();
    await server.stop();
    await removeDir(dir);
  }
}

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    'dry-run': { type: 'boolean', default: false },
    worker: { type: 'string' },
  },
});
if (values.worker !== undefined) {
  process.send?.(await runJob(JSON.parse(values.worker) as Job));
  process.disconnect?.();
} else {
  const dryRun = values['dry-run'];
  await main(dryRun ? 64 : Number(values['size-mib']), dryRun ? 1 : Number(values.rounds), dryRun);
}
