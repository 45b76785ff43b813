/**
 * The drop-in folder (fastgpu's mode): every executable file put in `DIR/to_run` is submitted to
 * the `script` executer, in name order, and moved to `running/`; when its task ends it moves to
 * `complete/` (succeeded) or `fail/` (anything else) with `NAME.stdout` and `NAME.stderr` beside
 * it. A script the API refuses (a bad name, no `script` executer) goes to `fail/` with the reason
 * in its `.stderr`; while the API is unreachable scripts wait in `to_run/`.
 *
 * Each script is submitted with an Idempotency-Key made of the folder, its name, its content and
 * its file's identity (inode, mtime; a move keeps them, a new copy does not), so a watch that is
 * stopped and started again picks the scripts in `running/` up again: the API answers with the
 * same tasks (for 24 h), and no script runs twice, while a script dropped in again runs again. Dot files, `.stdout` and
 * `.stderr` files and files without an execute bit are left alone.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { GpufleetClient } from '../../client.js';
import { ApiRequestError, ApiUnreachableError, InputError } from '../../errors.js';
import type { TaskSpec, TaskStatus } from '../../generated/api-types.js';
import { Wakeup } from './wakeup.js';

export const WATCH_FOLDERS = ['to_run', 'running', 'complete', 'fail'] as const;

export type WatchEvent =
  | { event: 'submitted'; script: string; taskId: string; replayed: boolean }
  | {
      event: 'ended';
      script: string;
      taskId: string;
      status: TaskStatus;
      exitCode: number | null;
      folder: 'complete' | 'fail';
    }
  | { event: 'refused'; script: string; code: string; message: string }
  | { event: 'waiting'; script: string; message: string };

export interface WatchOptions {
  dir: string;
  client: GpufleetClient;
  /** Settings of every script's task (gpus, queue, timeLimitMs, retries). */
  spec: Omit<TaskSpec, 'executer' | 'params' | 'inputs'>;
  /** How often `to_run/` is looked at. */
  intervalMs: number;
  /** Stop once `to_run/` is empty and no script runs. */
  exitWhenEmpty: boolean;
  /** Scripts running at once at most (0: no limit, the fleet's slots decide). */
  concurrency: number;
  signal: AbortSignal;
  onEvent: (event: WatchEvent) => void;
}

export interface WatchResult {
  succeeded: number;
  failed: number;
}

async function scriptsIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (name.startsWith('.') || name.endsWith('.stdout') || name.endsWith('.stderr')) continue;
    const info = await stat(join(dir, name)).catch(() => null);
    if (info?.isFile() && (info.mode & 0o111) !== 0) names.push(name);
  }
  return names;
}

export async function watchFolder(options: WatchOptions): Promise<WatchResult> {
  const { client, signal } = options;
  const root = await realpath(options.dir).catch(() => {
    throw new InputError(`the watch folder ${options.dir} does not exist`);
  });
  const folder = (name: (typeof WATCH_FOLDERS)[number]): string => join(root, name);
  for (const name of WATCH_FOLDERS) await mkdir(folder(name), { recursive: true });
  const result: WatchResult = { succeeded: 0, failed: 0 };
  const running = new Map<string, Promise<void>>();
  const wakeup = new Wakeup();
  const waiting = new Set<string>();

  const finish = async (script: string, id: string): Promise<void> => {
    const task = await client.task(id).wait({ signal });
    for (const stream of ['stdout', 'stderr'] as const) {
      const body = await client.task(id).logStream({ stream, signal });
      await pipeline(
        Readable.fromWeb(body as WebReadableStream<Uint8Array>),
        createWriteStream(join(folder('running'), `${script}.${stream}`)),
      );
    }
    const to = task.status === 'succeeded' ? 'complete' : 'fail';
    for (const name of [`${script}.stdout`, `${script}.stderr`, script]) {
      await rename(join(folder('running'), name), join(folder(to), name));
    }
    if (to === 'complete') result.succeeded++;
    else result.failed++;
    options.onEvent({
      event: 'ended',
      script,
      taskId: id,
      status: task.status,
      exitCode: task.exitCode,
      folder: to,
    });
  };

  const track = (script: string, id: string): void => {
    const done = finish(script, id)
      .catch((error: unknown) => {
        if (!signal.aborted) options.onEvent({ event: 'waiting', script, message: (error as Error).message });
      })
      .finally(() => {
        running.delete(script);
        wakeup.wake();
      });
    running.set(script, done);
  };

  const submit = async (from: string, script: string): Promise<void> => {
    const path = join(from, script);
    // A rename into running/ keeps the inode and mtime, a new copy of the script gets new ones.
    // Listed a moment ago, it may have moved on since (its task ended and it went to complete/).
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (info === null) return;
    const digest = createHash('sha256')
      .update(`${root}\0${script}\0${info.ino}\0${info.mtimeMs}\0`)
      .update(await readFile(path))
      .digest('hex');
    try {
      const task = await client.submit(
        { ...options.spec, executer: 'script', params: { script } },
        { inputs: [{ path, name: script }], idempotencyKey: `watch-${digest.slice(0, 40)}`, signal },
      );
      if (from !== folder('running')) await rename(path, join(folder('running'), script));
      waiting.delete(script);
      options.onEvent({ event: 'submitted', script, taskId: task.id, replayed: task.submission.replayed });
      track(script, task.id);
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof ApiRequestError && error.status >= 400 && error.status < 500) {
        await writeFile(join(folder('fail'), `${script}.stdout`), '');
        await writeFile(
          join(folder('fail'), `${script}.stderr`),
          `gpufleet: ${error.code}: ${error.message}\n`,
        );
        await rename(path, join(folder('fail'), script));
        result.failed++;
        options.onEvent({ event: 'refused', script, code: error.code, message: error.message });
        return;
      }
      if (!(error instanceof ApiUnreachableError || error instanceof ApiRequestError)) throw error;
      if (!waiting.has(script)) options.onEvent({ event: 'waiting', script, message: error.message });
      waiting.add(script);
    }
  };

  const room = (): boolean => options.concurrency === 0 || running.size < options.concurrency;
  while (!signal.aborted) {
    // Scripts a previous watch left in running/ first: their idempotency keys give back their tasks.
    for (const [from, scripts] of [
      [folder('running'), await scriptsIn(folder('running'))],
      [folder('to_run'), await scriptsIn(folder('to_run'))],
    ] as const) {
      for (const script of scripts) {
        if (!room() || signal.aborted) break;
        if (!running.has(script)) await submit(from, script);
      }
    }
    if (options.exitWhenEmpty && running.size === 0) {
      const left = [...(await scriptsIn(folder('to_run'))), ...(await scriptsIn(folder('running')))];
      if (left.length === 0) break;
    }
    await wakeup.sleep(options.intervalMs, signal);
  }
  await Promise.allSettled(running.values());
  return result;
}
