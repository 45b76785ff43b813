/**
 * A real S3-protocol server for tests: s3rver in a child process on a free port with its own data
 * folder, so `kill()` is a real crash (SIGKILL) and `restart()` brings it back on the same port
 * with the same data. The child patches two gaps of s3rver 3.7 that matter to gpufleet:
 * ListMultipartUploads and AbortMultipartUpload (s3rver answers NotImplemented/MethodNotAllowed),
 * listing order (s3rver lists in `readdir` order; S3 lists in byte order of the keys) and listing
 * pages (s3rver's continuation tokens use DES, which Node's OpenSSL 3 refuses).
 * It also counts requests by operation and can answer the next requests with errors (`failNext`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { makeTempDir, removeDir } from './temp-dir.js';

/** The S3 operations the server tells apart (in `requests()` and `failNext`). */
export type S3Operation =
  | 'AbortMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'CreateBucket'
  | 'CreateMultipartUpload'
  | 'DeleteObject'
  | 'DeleteObjects'
  | 'GetObject'
  | 'HeadObject'
  | 'ListMultipartUploads'
  | 'ListObjects'
  | 'PutObject'
  | 'UploadPart'
  | 'Other';

/** One request the server received (control requests are not counted). */
export interface S3Request {
  operation: S3Operation;
  method: string;
  /** Path and query as sent. */
  url: string;
}

/** Answer the next `count` requests of `operation` with `status` and the S3 error `code`. */
export interface S3Fault {
  operation: S3Operation;
  count: number;
  /** Default 503. */
  status?: number;
  /** Default 'ServiceUnavailable'. */
  code?: string;
}

export interface S3ServerOptions {
  /** Buckets created at start. Default ['gpufleet-test']. */
  buckets?: string[];
}

export interface S3Server {
  readonly port: number;
  /** `http://127.0.0.1:PORT`: use with path-style addressing. */
  readonly endpoint: string;
  readonly region: string;
  /** The first bucket of `options.buckets`. */
  readonly bucket: string;
  /** s3rver's data folder; removed by `stop()`. */
  readonly dir: string;
  /** Process id of the current server process (a new one after `restart()`). */
  readonly pid: number;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The variables that point `openArtifactStore('s3://...', cwd, env)` at this server. */
  readonly env: Readonly<Record<string, string>>;
  /** Every request since the start (or the last `resetRequests()`), in order of arrival. */
  requests(): Promise<S3Request[]>;
  resetRequests(): Promise<void>;
  failNext(fault: S3Fault): Promise<void>;
  /** Sends `signal` (default SIGKILL: a crash) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and folder (stopping it first if it runs). */
  restart(): Promise<void>;
  /** Stops the process and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

// CommonJS run by `node -e` in the child; argv: s3rver's folder, data folder, port, buckets (JSON).
const CHILD_SCRIPT = String.raw`
'use strict';
const fs = require('fs');
const path = require('path');
const [root, dir, port, bucketsJson] = process.argv.slice(1);
const utils = require(path.join(root, 'lib/utils.js'));
const SUFFIX = '._S3rver_';
const sortKey = (e) => Buffer.from(e.isDirectory() ? e.name + '/' : e.name.split(SUFFIX)[0]);
utils.walk = function* walk(folder, recurse) {
  const entries = fs.readdirSync(folder, { withFileTypes: true });
  entries.sort((a, b) => Buffer.compare(sortKey(a), sortKey(b)) || (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const p = path.posix.join(folder, e.name);
    if (!e.isDirectory()) yield p;
    else if (!recurse || recurse(p)) yield* walk(p, recurse);
  }
};
// s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 refuses: keep them plain.
const crypto = require('crypto');
const plain = { update: (data, encoding) => Buffer.from(data, encoding), final: () => Buffer.alloc(0) };
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const original = crypto[name];
  crypto[name] = (algorithm, ...rest) => (algorithm === 'des' ? plain : original(algorithm, ...rest));
}
const S3rver = require(root);
const xml = (s) => String(s).replace(/[<>&'"]/g, (c) => '&#' + c.charCodeAt(0) + ';');
const requests = [];
const faults = [];
function operationOf(method, q, hasKey) {
  if (!hasKey) {
    if (method === 'GET') return q.has('uploads') ? 'ListMultipartUploads' : 'ListObjects';
    if (method === 'POST' && q.has('delete')) return 'DeleteObjects';
    return method === 'PUT' ? 'CreateBucket' : 'Other';
  }
  if (method === 'PUT') return q.has('uploadId') ? 'UploadPart' : 'PutObject';
  if (method === 'POST') return q.has('uploads') ? 'CreateMultipartUpload' : 'CompleteMultipartUpload';
  if (method === 'DELETE') return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  return method === 'HEAD' ? 'HeadObject' : method === 'GET' ? 'GetObject' : 'Other';
}
async function drain(req) { for await (const _ of req); }
function reply(ctx, status, body, type = 'application/xml') { ctx.status = status; ctx.type = type; ctx.body = body; }
const s3Error = (code, message) => '<?xml version="1.0" encoding="UTF-8"?><Error><Code>' + code + '</Code><Message>' + xml(message) + '</Message></Error>';
const uploadsDir = (bucket) => path.join(dir, bucket, '._S3rver_uploads');
async function listUploads(ctx, bucket, prefix) {
  const found = [];
  for (const id of await fs.promises.readdir(uploadsDir(bucket)).catch(() => [])) {
    const key = await fs.promises.readFile(path.join(uploadsDir(bucket), id, 'key'), 'utf8').catch(() => null);
    if (key === null || !key.startsWith(prefix)) continue;
    const { mtime } = await fs.promises.stat(path.join(uploadsDir(bucket), id));
    found.push({ key, id, initiated: mtime.toISOString() });
  }
  found.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)) || (a.id < b.id ? -1 : 1));
  const uploads = found.map((u) => '<Upload><Key>' + xml(u.key) + '</Key><UploadId>' + u.id + '</UploadId><Initiated>' + u.initiated + '</Initiated><StorageClass>STANDARD</StorageClass></Upload>');
  reply(ctx, 200, '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>' + xml(bucket) + '</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>' + xml(prefix) + '</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>' + uploads.join('') + '</ListMultipartUploadsResult>');
}
async function abortUpload(ctx, bucket, key, id) {
  const folder = path.join(uploadsDir(bucket), /^[0-9a-f]+$/.test(id) ? id : '-');
  const stored = await fs.promises.readFile(path.join(folder, 'key'), 'utf8').catch(() => null);
  if (stored !== key) return reply(ctx, 404, s3Error('NoSuchUpload', 'The specified upload does not exist.'));
  await fs.promises.rm(folder, { recursive: true, force: true });
  ctx.status = 204;
}
async function control(ctx, what) {
  if (what === 'requests') return reply(ctx, 200, JSON.stringify(requests), 'application/json');
  if (what === 'reset') { requests.length = 0; faults.length = 0; ctx.status = 204; return; }
  let body = '';
  for await (const chunk of ctx.req) body += chunk;
  faults.push(JSON.parse(body));
  ctx.status = 204;
}
async function shim(ctx, next) {
  const url = new URL(ctx.req.url, 'http://localhost');
  const [bucket = '', ...rest] = url.pathname.slice(1).split('/').map(decodeURIComponent);
  if (bucket === '__gpufleet') return control(ctx, rest[0]);
  const key = rest.join('/');
  const operation = operationOf(ctx.method, url.searchParams, key !== '');
  requests.push({ operation, method: ctx.method, url: ctx.req.url });
  const fault = faults.find((f) => f.count > 0 && f.operation === operation);
  if (fault) {
    fault.count--;
    await drain(ctx.req);
    return reply(ctx, fault.status || 503, s3Error(fault.code || 'ServiceUnavailable', 'injected by the test'));
  }
  if (operation === 'ListMultipartUploads') return listUploads(ctx, bucket, url.searchParams.get('prefix') || '');
  if (operation === 'AbortMultipartUpload') return abortUpload(ctx, bucket, key, url.searchParams.get('uploadId'));
  return next();
}
const server = new S3rver({
  address: '127.0.0.1', port: Number(port), directory: dir, silent: true, vhostBuckets: false,
  configureBuckets: JSON.parse(bucketsJson).map((name) => ({ name, configs: [] })),
});
server.middleware.unshift(shim);
process.stdin.on('close', () => process.exit(0)).resume();
server.run().then((address) => process.stdout.write('listening ' + address.port + '\n'), (error) => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(1);
});
`;

const START_TIMEOUT_MS = 15_000;
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
const running = new Set<ChildProcessWithoutNullStreams>();
process.on('exit', () => running.forEach((child) => child.kill('SIGKILL')));

interface Launched {
  readonly child: ChildProcessWithoutNullStreams;
  readonly port: number;
  readonly exited: Promise<void>;
}

/** Starts s3rver (a child process) on a free port with a fresh data folder and the buckets. */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const buckets = options.buckets ?? ['gpufleet-test'];
  const dir = await makeTempDir('gpufleet-s3-');
  try {
    const root = dirname(createRequire(import.meta.url).resolve('s3rver/package.json'));
    const spec = { root, dir, buckets };
    return new RunningS3(spec, await launch(spec, 0));
  } catch (error) {
    await removeDir(dir);
    throw error;
  }
}

interface LaunchSpec {
  readonly root: string;
  readonly dir: string;
  readonly buckets: string[];
}

class RunningS3 implements S3Server {
  readonly port: number;
  readonly endpoint: string;
  readonly region = 'us-east-1';
  readonly bucket: string;
  readonly dir: string;
  readonly credentials = CREDENTIALS;
  readonly env: Readonly<Record<string, string>>;
  #launched: Launched;
  #stopped: Promise<void> | undefined;

  constructor(
    private readonly spec: LaunchSpec,
    launched: Launched,
  ) {
    this.port = launched.port;
    this.endpoint = `http://127.0.0.1:${this.port}`;
    this.bucket = spec.buckets[0] ?? '';
    this.dir = spec.dir;
    this.#launched = launched;
    this.env = Object.freeze({
      S3_ENDPOINT: this.endpoint,
      S3_REGION: this.region,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    });
  }

  get pid(): number {
    return this.#launched.child.pid ?? -1;
  }

  async requests(): Promise<S3Request[]> {
    return (await (await this.#control('requests')).json()) as S3Request[];
  }

  async resetRequests(): Promise<void> {
    await this.#control('reset', '');
  }

  async failNext(fault: S3Fault): Promise<void> {
    await this.#control('faults', JSON.stringify(fault));
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const { child, exited } = this.#launched;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  }

  async restart(): Promise<void> {
    if (this.#stopped) throw new Error(`the S3 server on port ${this.port} was stopped`);
    await this.kill('SIGTERM');
    this.#launched = await launch(this.spec, this.port);
  }

  stop(): Promise<void> {
    this.#stopped ??= this.kill('SIGKILL').then(() => removeDir(this.dir));
    return this.#stopped;
  }

  async #control(what: string, body?: string): Promise<Response> {
    const response = await fetch(`${this.endpoint}/__gpufleet/${what}`, {
      method: body === undefined ? 'GET' : 'POST',
      body,
    });
    if (!response.ok) throw new Error(`S3 test server: ${what} answered ${response.status}`);
    return response;
  }
}

/** Spawns the child and waits for its "listening PORT" line (or its exit). */
async function launch(spec: LaunchSpec, port: number): Promise<Launched> {
  const args = ['-e', CHILD_SCRIPT, '--', spec.root, spec.dir, `${port}`, JSON.stringify(spec.buckets)];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve())).then(() => {
    running.delete(child);
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
  let timer: NodeJS.Timeout | undefined;
  const listening = await new Promise<number | string>((resolve) => {
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const match = /listening (\d+)\n/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    void exited.then(() => resolve('exited while starting'));
    timer = setTimeout(resolve, START_TIMEOUT_MS, `did not start within ${START_TIMEOUT_MS} ms`);
  }).finally(() => clearTimeout(timer));
  if (typeof listening === 'number') return { child, port: listening, exited };
  child.kill('SIGKILL');
  await exited;
  throw new Error(`the S3 test server (s3rver, port ${port || 'any'}) ${listening}:\n${stderr.trimEnd()}`);
}

/** Registers `beforeAll`/`afterAll` in the calling test file: one S3 server for the file. */
export function useS3Server(options?: S3ServerOptions): { readonly server: S3Server } {
  let current: S3Server | undefined;
  beforeAll(async () => {
    current = await startS3Server(options);
  });
  afterAll(async () => {
    await current?.stop();
  });
  return {
    get server(): S3Server {
      if (!current)
        throw new Error('useS3Server: the server starts in beforeAll; read .server inside a test or hook');
      return current;
    },
  };
}
