/**
 * `gpufleet priority <id> <priority>`: changes a waiting task's priority (0-1000, higher starts
 * first) and prints the old and the new one. The priority is checked before anything is sent (exit
 * 2); a task that runs or ended exits 1 with the API's TASK_NOT_WAITING message, a task that does
 * not exist (or is another tenant's) exits 4.
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { priorityArg, type CommandRunner } from './command-kit.js';

export async function runPriority(ctx: CliContext, id: string, priority: number): Promise<number> {
  const change = await ctx.client.setPriority(id, priority, { signal: ctx.signal });
  if (ctx.out.json) ctx.out.document(change);
  else ctx.out.line(`${change.id} priority ${change.previous} → ${change.priority}`);
  return EXIT.OK;
}

export function priorityCommand(program: Command, run: CommandRunner): void {
  program
    .command('priority')
    .description('change the priority of a waiting task (0-1000, higher starts first)')
    .argument('<id>', 'task id')
    .argument('<priority>', 'the new priority, 0-1000', priorityArg('the priority'))
    .action(run((ctx, id: string, priority: number) => runPriority(ctx, id, priority)));
}
