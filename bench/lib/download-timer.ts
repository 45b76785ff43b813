/**
 * The measuring side of the download benchmark (bench/api-throughput.ts): a process of its own,
 * so that the two reads it compares run alike in a small process. The benchmark's main process
 * holds the whole API in its heap (Fastify, ioredis, pino and the rest): read there, every
 * 64 KiB chunk paid a share of collecting that heap, up to 3 s of CPU per GiB for the file read
 * and the HTTP client alike, taken from the two cores the server needs as well.
 *
 * Commands come on stdin, one JSON object a line: `{"file": path}` reads the file with
 * fs.createReadStream (default 64 KiB chunks); `{"url": ..., "headers": {...}}` downloads it with
 * node:http's client and wants a 200. Both count the bytes of each 'data' event and do nothing
 * else with them. One JSON line answers each command on stdout: `{"bytes", "seconds", "cpuMs"}`
 * (this process's CPU, user and system, over the read) or `{"error"}`.
 * Usage (what the benchmark does): tsx bench/lib/download-timer.ts, then write commands to it.
 */
import { createReadStream } from 'node:fs';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export type TimerCommand = { file: string } | { url: string; headers: Record<string, string> };

export interface TimerResult {
  bytes: number;
  seconds: number;
  cpuMs: number;
}

function download(url: URL, headers: Record<string, string>): Promise<Readable> {
  return new Promise((resolve, reject) => {
    request({ host: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
      if (res.statusCode === 200) resolve(res);
      else reject(new Error(`download answered ${res.statusCode}`));
    })
      .on('error', reject)
      .end();
  });
}

/** Reads the stream to its end, counting bytes on 'data' events (the same way for both). */
async function time(open: () => Promise<Readable> | Readable): Promise<TimerResult> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const stream = await open();
  const bytes = await new Promise<number>((resolve, reject) => {
    let n = 0;
    stream.on('data', (chunk: Buffer) => (n += chunk.length));
    stream.on('end', () => resolve(n));
    stream.on('error', reject);
  });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { bytes, seconds, cpuMs: Math.round((used.user + used.system) / 1000) };
}

/** Runs one command in this process (the benchmark's `--reader main` calls it directly). */
export function timeRead(command: TimerCommand): Promise<TimerResult> {
  return time(() =>
    'file' in command ? createReadStream(command.file) : download(new URL(command.url), command.headers),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for await (const line of createInterface({ input: process.stdin })) {
    const answer = await timeRead(JSON.parse(line) as TimerCommand).catch((error: unknown) => ({
      error: String(error),
    }));
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
}
