/**
 * Starts the S3 test server's child process (s3rver-child-script.ts) and waits until it listens;
 * a child still running when the test process exits is killed with it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { S3RVER_CHILD_SCRIPT } from './s3rver-child-script.js';

const START_TIMEOUT_MS = 15_000;
const running = new Set<ChildProcessWithoutNullStreams>();
process.on('exit', () => running.forEach((child) => child.kill('SIGKILL')));

/** What a child is started with: s3rver's folder, the data folder and the buckets to create. */
export interface LaunchSpec {
  readonly root: string;
  readonly dir: string;
  readonly buckets: string[];
}

/** A started child: the port it listens on, and a promise that settles once it has exited. */
export interface Launched {
  readonly child: ChildProcessWithoutNullStreams;
  readonly port: number;
  readonly exited: Promise<void>;
}

/** Spawns the child and waits for its "listening PORT" line (or its exit). */
export async function launchS3rver(spec: LaunchSpec, port: number): Promise<Launched> {
  const args = [
    '-e',
    S3RVER_CHILD_SCRIPT,
    '--',
    spec.root,
    spec.dir,
    `${port}`,
    JSON.stringify(spec.buckets),
  ];
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
