/**
 * `gpufleet admin gc [--dry-run] [--queue Q] [--limit N]` (admin keys): the retention sweep run by
 * hand (POST /v1/admin/gc). Per queue it prints how many finished tasks past their retention were
 * archived and removed from Redis, or with --dry-run would be; --json prints the API's answer, the
 * task ids included. Running it while the trackers sweep is harmless (the API docs say why).
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { intArg, type CommandRunner } from './command-kit.js';

/** The API's bound on `limit`: checked here too, so a typo is a usage error before anything is sent. */
const MAX_LIMIT = 100_000;

interface GcFlags {
  dryRun?: boolean;
  queue?: string;
  limit?: number;
}

export async function runGc(ctx: CliContext, flags: GcFlags): Promise<number> {
  const result = await ctx.client.gc({
    dryRun: flags.dryRun ?? false,
    queue: flags.queue,
    limit: flags.limit,
    signal: ctx.signal,
  });
  if (ctx.out.json) ctx.out.document(result);
  else if (result.queues.length === 0) ctx.out.note('the fleet has no queues');
  else {
    for (const q of result.queues) {
      const tasks = `${q.due} task${q.due === 1 ? '' : 's'}`;
      ctx.out.line(
        result.dryRun
          ? `${q.queue}: would archive and remove ${tasks}`
          : `${q.queue}: archived and removed ${q.removed} task${q.removed === 1 ? '' : 's'}`,
      );
    }
  }
  return EXIT.OK;
}

function limitArg(value: string): number {
  const n = intArg('--limit', 1)(value);
  if (n > MAX_LIMIT) throw new InvalidArgumentError(`--limit wants a whole number from 1 to ${MAX_LIMIT}`);
  return n;
}

export function adminCommands(program: Command, run: CommandRunner): void {
  const admin = program.command('admin').description('fleet maintenance (admin keys)');
  admin
    .command('gc')
    .description('archive and remove finished tasks past their retention (--dry-run: only list them)')
    .option('--dry-run', 'say what would be removed; change nothing')
    .option('-q, --queue <queue>', 'only this queue')
    .option(
      '--limit <n>',
      `per queue, stop after about this many tasks (1-${MAX_LIMIT}, default 10000)`,
      limitArg,
    )
    .action(run((ctx, flags: GcFlags) => runGc(ctx, flags)));
}
