/**
 * Long work shared by several commands: waiting for tasks (a spinner with their statuses),
 * following their output (a task's stdout to stdout and stderr to stderr; several tasks line by
 * line with a `[id]` prefix; NDJSON with --json), and downloading outputs (a progress bar). When the
 * API can no longer resume a follow where it was (its log was trimmed past that point, or removed
 * after the task ended), a one-line notice on stderr (a `resync` record with --json) says the
 * output starts again from its beginning, and it does.
 */
import { ApiRequestError } from '../errors.js';
import type { TaskStatus, TaskView } from '../generated/api-types.js';
import type { DownloadResult } from '../outputs/download-outputs.js';
import { LineSplitter } from '../task/log-lines.js';
import type { LogEnd, LogStreamName } from '../task/stream-events.js';
import type { CliContext } from './cli-context.js';
import { statusCounts } from './format.js';
import { bar, formatBytes } from './progress-line.js';

/** Waits for every task; `onEnd` is called as each one ends. Results in the order of `ids`. */
export async function waitAll(
  ctx: CliContext,
  ids: readonly string[],
  onEnd: (task: TaskView) => void = () => undefined,
): Promise<TaskView[]> {
  const statuses = new Map<string, TaskStatus>();
  const started = Date.now();
  const show = (): void => {
    const s = Math.floor((Date.now() - started) / 1000);
    const clock = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    const what = `${ids.length} task${ids.length === 1 ? '' : 's'}`;
    ctx.out.progress.update(`waiting for ${what}: ${statusCounts(statuses.values())} (${clock})`);
  };
  const ticker = ctx.out.progress.enabled ? setInterval(show, 1000).unref() : null;
  try {
    return await Promise.all(
      ids.map(async (id) => {
        const handle = ctx.client.task(id);
        if (ctx.out.progress.enabled) {
          statuses.set(id, (await handle.get({ signal: ctx.signal })).status);
          show();
        }
        const task = await handle.wait({
          signal: ctx.signal,
          pollMs: ctx.out.progress.enabled ? 10_000 : undefined,
          onPoll: (t) => {
            statuses.set(id, t.status);
            show();
          },
        });
        onEnd(task);
        return task;
      }),
    );
  } finally {
    if (ticker) clearInterval(ticker);
    ctx.out.progress.done();
  }
}

/** Merges async iterators, yielding items as they come. */
async function* merge<T>(sources: ReadonlyArray<AsyncIterator<T>>): AsyncGenerator<T> {
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>();
  const pull = (index: number): void => {
    const source = sources[index] as AsyncIterator<T>;
    pending.set(
      index,
      source.next().then((result) => ({ index, result })),
    );
  };
  sources.forEach((_, i) => pull(i));
  while (pending.size > 0) {
    const { index, result } = await Promise.race(pending.values());
    if (result.done) pending.delete(index);
    else {
      pull(index);
      yield result.value;
    }
  }
}

/** Follows the output of the tasks until each ends; returns each task's end. */
export async function followAll(
  ctx: CliContext,
  ids: readonly string[],
  stream?: LogStreamName,
): Promise<Map<string, LogEnd>> {
  const ends = new Map<string, LogEnd>();
  const prefix = ids.length > 1;
  const splitters = new Map(ids.map((id) => [id, new LineSplitter()]));
  const streams = ids.map((id) =>
    (async function* () {
      for await (const item of ctx.client.task(id).followLogs({ stream, signal: ctx.signal }))
        yield { id, item };
    })(),
  );
  const emitLines = (id: string, lines: ReturnType<LineSplitter['flush']>): void => {
    for (const line of lines) {
      if (ctx.out.json) ctx.out.record({ type: 'log', taskId: id, stream: line.stream, line: line.text });
      else ctx.out.raw(line.stream, `[${id}] ${line.text}\n`);
    }
  };
  for await (const { id, item } of merge(streams)) {
    const splitter = splitters.get(id) as LineSplitter;
    if (item.type === 'resync') {
      splitters.set(id, new LineSplitter());
      if (ctx.out.json) ctx.out.record({ type: 'resync', taskId: id, reason: item.reason });
      else ctx.out.note(`gpufleet: task ${id}: ${item.reason}`);
    } else if (item.type === 'end') {
      emitLines(id, splitter.flush());
      ends.set(id, item);
      if (ctx.out.json) ctx.out.record({ ...item, taskId: id });
    } else if (ctx.out.json || prefix) emitLines(id, splitter.push(item.stream, item.text));
    else ctx.out.raw(item.stream, item.text);
  }
  return ends;
}

/** Downloads a task's outputs with a progress bar; null when it has none. */
export async function downloadWithProgress(
  ctx: CliContext,
  id: string,
  dir: string,
  files?: readonly string[],
): Promise<DownloadResult | null> {
  try {
    return await ctx.client.task(id).download(dir, {
      files,
      signal: ctx.signal,
      onProgress: (p) => {
        const fraction = p.totalBytes === 0 ? 1 : p.bytes / p.totalBytes;
        ctx.out.progress.update(
          `${bar(fraction)} ${Math.round(fraction * 100)}% ${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)} ` +
            `(${p.filesDone}/${p.files} files) ${p.path}`,
        );
      },
    });
  } catch (error) {
    if (error instanceof ApiRequestError && error.code === 'NO_OUTPUTS') return null;
    throw error;
  } finally {
    ctx.out.progress.done();
  }
}
