/**
 * `gpufleet logs <id>`: the task's stdout and stderr so far; with `-f` it follows them until the
 * task ends (reconnecting after a dropped connection) and exits 1 unless the task succeeded.
 * With --json: one document `{id, source, complete, text}`, or with -f NDJSON lines
 * `{type: "log", taskId, stream, line}` and then `{type: "end", status, exitCode, error, errorCode}`.
 * When the API lost the follow's place (the live log was trimmed past it, or removed after the
 * task ended), a notice on stderr (`{type: "resync", taskId, reason}` with --json) says the output
 * starts again from its beginning.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { LogStreamName } from '../../task/stream-events.js';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { outcome } from '../format.js';
import { followAll } from '../task-progress.js';
import type { CommandRunner } from './command-kit.js';

export interface LogsFlags {
  follow?: boolean;
  stream?: LogStreamName;
}

export async function runLogs(ctx: CliContext, id: string, flags: LogsFlags): Promise<number> {
  if (flags.follow) {
    const end = (await followAll(ctx, [id], flags.stream)).get(id);
    if (!end) return EXIT.FAILED;
    if (end.status !== 'succeeded') ctx.out.note(`gpufleet: task ${id} ${outcome(end)}`);
    return end.status === 'succeeded' ? EXIT.OK : EXIT.FAILED;
  }
  const logs = await ctx.client.task(id).logs({ stream: flags.stream, signal: ctx.signal });
  if (ctx.out.json) ctx.out.document({ id, ...logs });
  else ctx.out.raw('stdout', logs.text);
  return EXIT.OK;
}

function streamArg(value: string): LogStreamName {
  if (value !== 'stdout' && value !== 'stderr')
    throw new InvalidArgumentError('--stream is stdout or stderr');
  return value;
}

export function logsCommand(program: Command, run: CommandRunner): void {
  program
    .command('logs')
    .description('print a task’s output; -f follows it until the task ends')
    .argument('<id>', 'task id')
    .option('-f, --follow', 'follow until the task ends; exit 1 unless it succeeded')
    .option('--stream <name>', 'only stdout or stderr', streamArg)
    .action(run((ctx, id: string, flags: LogsFlags) => runLogs(ctx, id, flags)));
}
