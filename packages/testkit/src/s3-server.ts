/**
 * A real S3-protocol server for tests: s3rver in a child process on a free port with its own data
 * folder, so `kill()` is a real crash (SIGKILL) and `restart()` brings it back on the same port
 * with the same data. The child patches two gaps of s3rver 3.7 that matter to gpufleet:
 * ListMultipartUploads and AbortMultipartUpload (s3rver answers NotImplemented/MethodNotAllowed),
 * listing order (s3rver lists in `readdir` order; S3 lists in byte order of the keys) and listing
 * pages (s3rver's continuation tokens use DES, which Node's OpenSSL 3 refuses).
 * It also counts requests by operation and can answer the next requests with errors (`failNext`).
 * The child's program is s3rver-child-script.ts; launch-s3rver.ts starts it.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { launchS3rver, type Launched, type LaunchSpec } from './launch-s3rver.js';
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
  /** The variables that point an `s3://` ARTIFACT_STORE at this server (loadConfig, artifactStoreSettingsFrom). */
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

const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Starts s3rver (a child process) on a free port with a fresh data folder and the buckets. */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const buckets = options.buckets ?? ['gpufleet-test'];
  const dir = await makeTempDir('gpufleet-s3-');
  try {
    const root = dirname(createRequire(import.meta.url).resolve('s3rver/package.json'));
    const spec = { root, dir, buckets };
    return new RunningS3(spec, await launchS3rver(spec, 0));
  } catch (error) {
    await removeDir(dir);
    throw error;
  }
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
    this.#launched = await launchS3rver(this.spec, this.port);
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
