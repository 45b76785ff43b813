/**
 * Web API benchmarks (the figures of issue "Web API"), on loopback against a redis-server this
 * script starts itself and an API server it runs in a child process (so the load generator does not
 * share the server's event loop):
 * - POST /v1/tasks and GET /v1/tasks/:id with 50 keep-alive connections for a fixed time: req/s
 *   and latency percentiles (no tracker runs, so the queue only grows);
 * - a 1 GiB output downloaded through GET /v1/tasks/:id/outputs/<path>, against reading the same
 *   file with fs.createReadStream: from disk (the file evicted from the page cache before each read)
 *   and from the page cache (warm for both); rounds alternate; best of five each. Both reads run in
 *   one small process of their own, bench/lib/download-timer.ts (`--reader main`: in this process,
 *   as before 2026-12-03, where collecting this process's large heap slows both); also printed:
 *   the median CPU per GiB of the warm reads (the file read; the API server and the HTTP client).
 * The load generator is bench/api-load-client.ts: raw keep-alive sockets (autocannon is not installed).
 * Usage: npx tsc -b packages/api && npx tsx bench/api-throughput.ts [--seconds 10] [--connections 50]
 *        [--download-mib 1024] [--reader child|main] [--log-level info] [--only post,get,download]
 *        [--json out.json] [--dry-run]
 * --dry-run: a short run (1 s per route, a 16 MiB file) that checks the set-up works.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { destination, pino } from 'pino';
import {
  attemptPrefix,
  completeTask,
  connectRedis,
  enqueue,
  LocalArtifactStore,
  newToken,
  publishCatalog,
  queueKeys,
  registerQueue,
  takeTask,
  TRACKER_GROUP,
  waitReady,
} from '@gpufleet/core';
import { makeTempDir, removeDir, startRedis } from '@gpufleet/testkit';
import { ApiKeyring, buildApp, enableAutoPipelining } from '@gpufleet/api';
import { encodeRequest, runLoad, type LoadResult } from './api-load-client.js';
import { timeRead, type TimerCommand, type TimerResult } from './lib/download-timer.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    'download-mib': { type: 'string', default: '1024' },
    'log-level': { type: 'string', default: 'info' },
    reader: { type: 'string', default: 'child' },
    json: { type: 'string' },
    only: { type: 'string', default: 'post,get,download' },
    'dry-run': { type: 'boolean', default: false },
    // internal: the child process that serves
    serve: { type: 'boolean', default: false },
    redis: { type: 'string' },
    store: { type: 'string' },
    prefix: { type: 'string' },
  },
});

const TOKEN = 'bench-token-2b7e151628aed2a6abf7';
const DRY = values['dry-run'] === true;
const SECONDS = DRY ? 1 : Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const DOWNLOAD_BYTES = (DRY ? 16 : Number(values['download-mib'])) * 1024 * 1024;
const CATALOG = {
  name: 'bench',
  version: '1.0.0',
  description: 'benchmark executer (never runs)',
  params: { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false },
  gpus: 0,
  timeLimitMs: 60_000,
  tracker: 'bench',
  updatedAt: 0,
};

/** The child: an API server on a free port; prints its URL on stdout. */
async function serve(): Promise<void> {
  const url = values.redis as string;
  const redis = enableAutoPipelining(connectRedis(url, { commandTimeoutMs: 900 }));
  await waitReady(redis);
  const app = await buildApp({
    redis,
    connectBlocking: () => connectRedis(url, { blocking: true }),
    store: new LocalArtifactStore(values.store as string),
    // Request logs are written as in production (NDJSON, buffered as pino recommends), to /dev/null.
    logger: pino({ level: values['log-level'] }, destination({ dest: '/dev/null', sync: false })),
    keyring: ApiKeyring.fromSecrets([{ secret: TOKEN, keyName: 'bench', tenant: 'default', role: 'admin' }]),
    prefix: values.prefix as string,
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${address}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
  process.on('SIGINT', () => undefined);
}

/** Does the reads of the download comparison, in a small process of its own or in this one. */
interface Reader {
  read(command: TimerCommand): Promise<TimerResult>;
  close(): void;
}

function startReader(where: string): Reader {
  if (where === 'main') return { read: timeRead, close: () => undefined };
  if (where !== 'child') throw new Error(`--reader is child or main, not "${where}"`);
  const script = fileURLToPath(new URL('./lib/download-timer.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async read(command) {
      child.stdin.write(`${JSON.stringify(command)}\n`);
      const next = await answers.next();
      if (next.done === true) throw new Error('the download timer exited');
      const answer = JSON.parse(next.value) as TimerResult | { error: string };
      if ('error' in answer) throw new Error(answer.error);
      return answer;
    },
    close: () => child.kill(),
  };
}

async function* pattern(bytes: number): AsyncGenerator<Buffer> {
  const block = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
  for (let left = bytes; left > 0; left -= block.length)
    yield left >= block.length ? block : block.subarray(0, left);
}

const median = (values: number[]): number =>
  values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** The 1 GiB download against reading the file (see the header comment). */
async function measureDownload(
  redis: Redis,
  prefix: string,
  storeDir: string,
  base: URL,
  reader: Reader,
  serverCpuMs: () => number | null,
) {
  // A finished task whose output is one big file, written through the protocol as a tracker would.
  const bigKeys = queueKeys(prefix, 'big');
  await publishCatalog(redis, bigKeys, [CATALOG]);
  await registerQueue(redis, prefix, 'big');
  const { id } = await enqueue({ redis, prefix }, { executer: 'bench', gpus: 0, queue: 'big' });
  await redis.xgroup('CREATE', bigKeys.tasks(0), TRACKER_GROUP, '0', 'MKSTREAM');
  const taken = await takeTask(redis, bigKeys, {
    consumer: 'bench',
    sizes: [{ gpus: 0, fitsNow: true }],
    leaseMs: 600_000,
    token: newToken(),
    now: Date.now(),
    idle: true,
  });
  if (taken.kind !== 'claimed') throw new Error(`could not take the download task: ${taken.kind}`);
  const outputs = `${attemptPrefix('default', id, 1)}/outputs`;
  const store = new LocalArtifactStore(storeDir);
  const put = await store.put(`${outputs}/big.bin`, Readable.from(pattern(DOWNLOAD_BYTES)));
  const manifest = {
    prefix: outputs,
    attempt: 1,
    files: [{ path: 'big.bin', size: put.size, sha256: put.sha256 }],
  };
  await completeTask(redis, bigKeys, taken.claim, 'succeeded', Date.now(), '', {
    outputs: JSON.stringify(manifest),
  });
  const file = join(storeDir, outputs, 'big.bin');
  const path = `/v1/tasks/${id}/outputs/big.bin`;
  // Cold: the file evicted from the page cache before each read (GNU dd iflag=nocache), so both
  // really read the disk. Warm: the file in the page cache for both. Rounds alternate; best of five.
  const evict = (): boolean =>
    spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']).status === 0;
  const canEvict = evict();
  const times = {
    coldDisk: [] as number[],
    coldHttp: [] as number[],
    warmDisk: [] as number[],
    warmHttp: [] as number[],
  };
  const read = async (command: TimerCommand): Promise<TimerResult> => {
    const result = await reader.read(command);
    if (result.bytes !== DOWNLOAD_BYTES) throw new Error(`read ${result.bytes} bytes, not ${DOWNLOAD_BYTES}`);
    return result;
  };
  const readFile = (): Promise<TimerResult> => read({ file });
  const headers = { authorization: `Bearer ${TOKEN}` };
  const readHttp = async (): Promise<TimerResult & { serverCpuMs: number | null }> => {
    const before = serverCpuMs();
    const result = await read({ url: new URL(path, base).href, headers });
    const after = serverCpuMs();
    return { ...result, serverCpuMs: before === null || after === null ? null : after - before };
  };
  // CPU per GiB of the warm reads: the file read (the reader), the download (server and reader).
  const cpu = { file: [] as number[], server: [] as number[], client: [] as number[] };
  for (let round = 0; round < 5; round++) {
    if (canEvict) {
      evict();
      times.coldDisk.push((await readFile()).seconds);
      evict();
      times.coldHttp.push((await readHttp()).seconds);
    }
    await readFile(); // warm the page cache
    const fromFile = await readFile();
    times.warmDisk.push(fromFile.seconds);
    cpu.file.push(fromFile.cpuMs);
    const fromApi = await readHttp();
    times.warmHttp.push(fromApi.seconds);
    cpu.client.push(fromApi.cpuMs);
    if (fromApi.serverCpuMs !== null) cpu.server.push(fromApi.serverCpuMs);
  }
  const mibps = (seconds: number[]): number =>
    Math.round(DOWNLOAD_BYTES / 1024 / 1024 / Math.min(...seconds));
  const ratio = (disk: number[], http: number[]): number =>
    Number((Math.min(...disk) / Math.min(...http)).toFixed(2));
  const perGiB = (ms: number[]): number | null =>
    ms.length === 0 ? null : Math.round((median(ms) * 1024 * 1024 * 1024) / DOWNLOAD_BYTES);
  return {
    bytes: DOWNLOAD_BYTES,
    cold: canEvict
      ? {
          diskMiBps: mibps(times.coldDisk),
          httpMiBps: mibps(times.coldHttp),
          ratio: ratio(times.coldDisk, times.coldHttp),
        }
      : null,
    warm: {
      diskMiBps: mibps(times.warmDisk),
      httpMiBps: mibps(times.warmHttp),
      ratio: ratio(times.warmDisk, times.warmHttp),
    },
    warmCpuMsPerGiB: { file: perGiB(cpu.file), apiServer: perGiB(cpu.server), apiClient: perGiB(cpu.client) },
  };
}

async function main(): Promise<void> {
  const redisServer = await startRedis();
  const dir = await makeTempDir('gpufleet-api-bench-');
  const storeDir = join(dir, 'artifacts');
  const prefix = 'bench';
  const redis = connectRedis(redisServer.url);
  await waitReady(redis);
  const keys = queueKeys(prefix, 'default');
  await publishCatalog(redis, keys, [CATALOG]);
  let child: ChildProcess | null = null;
  try {
    // GPUFLEET_BENCH_CPU_PROF=<dir>: the server writes a CPU profile there (node --cpu-prof).
    const profile = process.env['GPUFLEET_BENCH_CPU_PROF'];
    child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []),
        fileURLToPath(import.meta.url),
        '--serve',
        '--redis',
        redisServer.url,
        '--store',
        storeDir,
        '--prefix',
        prefix,
        '--log-level',
        values['log-level'] as string,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const address = await new Promise<string>((resolve, reject) => {
      child?.stdout?.once('data', (data: Buffer) => resolve(data.toString().trim()));
      child?.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
    });
    const base = new URL(address);

    const headers = { authorization: `Bearer ${TOKEN}` };
    const json = { ...headers, 'content-type': 'application/json' };
    // The server's CPU time (user + system, from /proc) over the measured period, per request.
    const serverPid = child.pid as number;
    const cpuMs = (): number | null => {
      try {
        const fields = readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
      } catch {
        return null;
      }
    };
    const load = async (
      route: string,
      next: (i: number) => Buffer,
    ): Promise<LoadResult & { route: string; serverCpuUsPerRequest: number | null }> => {
      let cpu: { start: number | null; end: number | null } = { start: null, end: null };
      const result = await runLoad({
        host: base.hostname,
        port: Number(base.port),
        connections: CONNECTIONS,
        warmupMs: Math.min(3000, SECONDS * 1000),
        durationMs: SECONDS * 1000,
        next,
        onMeasure: (phase) => (cpu = { ...cpu, [phase]: cpuMs() }),
      });
      const used = cpu.start === null || cpu.end === null ? null : cpu.end - cpu.start;
      const perRequest = used === null ? null : Math.round((used * 1000) / result.requests);
      return { route, ...result, serverCpuUsPerRequest: perRequest };
    };
    const only = new Set((values.only as string).split(','));
    const results: Array<LoadResult & { route: string; serverCpuUsPerRequest: number | null }> = [];
    if (only.has('post')) {
      results.push(
        await load('POST /v1/tasks', (i) =>
          encodeRequest(
            'POST',
            '/v1/tasks',
            json,
            Buffer.from(JSON.stringify({ executer: 'bench', params: { n: i } })),
          ),
        ),
      );
    } else {
      await registerQueue(redis, prefix, 'default');
      for (let i = 0; i < 100; i++) await enqueue({ redis, prefix }, { executer: 'bench', params: { n: i } });
    }
    if (only.has('get')) {
      const ids = await redis.zrange(keys.index, 0, 99);
      const gets = ids.map((id) => encodeRequest('GET', `/v1/tasks/${id}`, headers));
      results.push(await load('GET /v1/tasks/:id', (i) => gets[i % gets.length] as Buffer));
    }

    let downloads: Awaited<ReturnType<typeof measureDownload>> | null = null;
    if (only.has('download')) {
      const reader = startReader(values.reader as string);
      try {
        downloads = await measureDownload(redis, prefix, storeDir, base, reader, cpuMs);
      } finally {
        reader.close();
      }
    }
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      connections: CONNECTIONS,
      seconds: SECONDS,
      logLevel: values['log-level'],
      load: results,
      download: downloads,
      loadAverage: loadavg(),
    };
    console.log('| route | requests | errors | req/s | p50 ms | p99 ms | max ms | server CPU µs/request |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of result.load) {
      console.log(
        `| ${r.route} | ${r.requests} | ${r.errors} | ${r.rps} | ${r.p50ms} | ${r.p99ms} | ${r.maxMs} | ${r.serverCpuUsPerRequest} |`,
      );
    }
    const mib = DOWNLOAD_BYTES / 1024 / 1024;
    for (const [label, d] of [
      ['from disk (cold)', downloads?.cold],
      ['page cache (warm)', downloads?.warm],
    ] as const) {
      if (d)
        console.log(
          `${mib} MiB ${label}: file ${d.diskMiBps} MiB/s, API ${d.httpMiBps} MiB/s, ratio ${d.ratio}`,
        );
    }
    const cpu = downloads?.warmCpuMsPerGiB;
    if (cpu)
      console.log(
        `CPU ms per GiB (warm, median): file read ${cpu.file}; download: API server ${cpu.apiServer}, client ${cpu.apiClient}`,
      );
    console.log(`load average during the run: ${result.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
    if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
  } finally {
    child?.kill('SIGTERM');
    redis.disconnect();
    await redisServer.stop();
    await removeDir(dir);
  }
}

if (values.serve) await serve();
else await main();
