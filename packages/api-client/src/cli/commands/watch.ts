/**
 * `gpufleet watch <DIR>`: the drop-in folder mode (see watch/watch-folder.ts). Prints one line per
 * script as it is submitted and as it ends (NDJSON with --json). `--exit-when-empty` stops once
 * nothing is left to run, exiting 1 when a script failed; Ctrl-C stops watching (the tasks go on,
 * and the next watch picks them up).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { watchFolder, type WatchEvent } from '../watch/watch-folder.js';
import { durationArg, intArg, type CommandRunner } from './command-kit.js';

export interface WatchFlags {
  gpus?: number;
  queue?: string;
  timeout?: number;
  retries?: number;
  interval: number;
  concurrency: number;
  exitWhenEmpty?: boolean;
}

function describe(e: WatchEvent): string {
  switch (e.event) {
    case 'submitted':
      return `${e.script}: ${e.replayed ? 'running as' : 'submitted as'} ${e.taskId}`;
    case 'ended':
      return `${e.script}: ${e.status}${e.exitCode ? ` (exit ${e.exitCode})` : ''} → ${e.folder}/`;
    case 'refused':
      return `${e.script}: refused (${e.code}: ${e.message}) → fail/`;
    case 'waiting':
      return `${e.script}: waiting (${e.message})`;
  }
}

export async function runWatch(ctx: CliContext, dir: string, flags: WatchFlags): Promise<number> {
  const d = ctx.connection.defaults;
  const spec = {
    gpus: flags.gpus ?? d.gpus,
    queue: flags.queue ?? d.queue,
    timeLimitMs: flags.timeout ?? d.timeLimitMs,
    retries: flags.retries ?? d.retries,
  };
  const target = resolve(ctx.runtime.cwd, dir);
  ctx.out.note(`watching ${target}/to_run (Ctrl-C stops watching; running tasks go on)`);
  const result = await watchFolder({
    dir: target,
    client: ctx.client,
    spec: Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)),
    intervalMs: flags.interval,
    exitWhenEmpty: Boolean(flags.exitWhenEmpty),
    concurrency: flags.concurrency,
    signal: ctx.signal,
    onEvent: (e) => (ctx.out.json ? ctx.out.record(e) : ctx.out.line(describe(e))),
  });
  if (ctx.out.json) ctx.out.record({ event: 'done', ...result });
  else ctx.out.note(`${result.succeeded} succeeded, ${result.failed} failed`);
  return result.failed > 0 ? EXIT.FAILED : EXIT.OK;
}

export function watchCommand(program: Command, run: CommandRunner): void {
  program
    .command('watch')
    .description('run every executable script dropped in DIR/to_run (fastgpu’s folder mode)')
    .argument('<dir>', 'the folder holding to_run/, running/, complete/ and fail/')
    .option('--gpus <n>', 'GPUs per script (default: the profile’s, else 1)', intArg('--gpus'))
    .option('-q, --queue <queue>', 'the queue')
    .option('--timeout <duration>', 'time limit per script', durationArg('--timeout'))
    .option('--retries <n>', 'reruns after a failed exit', intArg('--retries'))
    .option('--interval <duration>', 'how often to_run/ is looked at', durationArg('--interval'), 1000)
    .option(
      '--concurrency <n>',
      'scripts in flight at most (0: as many as the fleet runs)',
      intArg('--concurrency'),
      0,
    )
    .option('--exit-when-empty', 'stop once to_run/ is empty and every script ended; exit 1 if one failed')
    .action(run((ctx, dir: string, flags: WatchFlags) => runWatch(ctx, dir, flags)));
}
