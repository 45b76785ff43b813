/**
 * `gpufleet resubmit <id>`: submits a task again, as a new task with the spec and input files it
 * was submitted with (the API copies the inputs), and prints the new task's id (`--json`: the
 * API's answer, with `resubmittedFrom`). A task that does not exist (or is another tenant's), or
 * whose input files are gone from the artifact store (INPUTS_GONE), exits 4; one no tracker can
 * run now (NO_CAPACITY) or of an executer no longer offered exits 2.
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import type { CommandRunner } from './command-kit.js';

export async function runResubmit(ctx: CliContext, id: string): Promise<number> {
  const task = await ctx.client.resubmit(id, { signal: ctx.signal });
  if (ctx.out.json) ctx.out.document(task.submission);
  else ctx.out.line(task.id);
  return EXIT.OK;
}

export function resubmitCommand(program: Command, run: CommandRunner): void {
  program
    .command('resubmit')
    .description('submit a task again as a new task (same spec and input files); prints its id')
    .argument('<id>', 'task id')
    .action(run((ctx, id: string) => runResubmit(ctx, id)));
}
