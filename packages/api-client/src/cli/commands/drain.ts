/**
 * `gpufleet drain TRACKER [--gpu N] [--reason TEXT] [--queue Q]` and `gpufleet undrain TRACKER
 * [--gpu N] [--queue Q]` (admin keys): a drained tracker finishes what it runs and takes nothing
 * new; a drained GPU finishes its task and gets no other. A drain lasts across the tracker's
 * restarts until undrained. Both print the tracker's drains as they stand now (`--json`: the API's
 * answer). An unknown tracker exits 4; a GPU the tracker does not have, or a user key, exits 2.
 */
import type { Command } from 'commander';
import type { DrainState } from '../../generated/api-types.js';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { formatTime } from '../format.js';
import { intArg, type CommandRunner } from './command-kit.js';

interface DrainFlags {
  gpu?: number;
  reason?: string;
  queue?: string;
}

type Drain = NonNullable<DrainState['drained']>;

function drainText(drain: Drain): string {
  return `drained: ${drain.reason} (by ${drain.by || '?'}, ${formatTime(drain.at)})`;
}

/** `tracker-a (queue default): takes new tasks`, then one line per drained GPU. */
export function drainStateLines(state: DrainState): string[] {
  const where = state.live
    ? `queue ${state.queue}`
    : `queue ${state.queue}, not running: applies at its start`;
  const lines = [`${state.name} (${where}): ${state.drained ? drainText(state.drained) : 'takes new tasks'}`];
  for (const gpu of state.gpus) if (gpu.drained) lines.push(`  GPU ${gpu.id}: ${drainText(gpu.drained)}`);
  return lines;
}

async function runDrain(
  ctx: CliContext,
  action: 'drain' | 'undrain',
  tracker: string,
  flags: DrainFlags,
): Promise<number> {
  const options = { gpu: flags.gpu, queue: flags.queue, signal: ctx.signal };
  const state =
    action === 'drain'
      ? await ctx.client.drain(tracker, { ...options, reason: flags.reason })
      : await ctx.client.undrain(tracker, options);
  if (ctx.out.json) ctx.out.document(state);
  else for (const line of drainStateLines(state)) ctx.out.line(line);
  return EXIT.OK;
}

export function drainCommands(program: Command, run: CommandRunner): void {
  program
    .command('drain')
    .description('drain a tracker or one GPU: it finishes what it runs, takes nothing new (admin keys)')
    .argument('<tracker>', 'the tracker’s name (gpufleet trackers)')
    .option('--gpu <n>', 'only this GPU (its id in gpufleet trackers)', intArg('--gpu'))
    .option('--reason <text>', 'why, shown with the tracker')
    .option('-q, --queue <queue>', 'the tracker’s queue (when trackers of that name serve several)')
    .action(run((ctx, tracker: string, flags: DrainFlags) => runDrain(ctx, 'drain', tracker, flags)));
  program
    .command('undrain')
    .description('take back the drain of a tracker or of one GPU (admin keys)')
    .argument('<tracker>', 'the tracker’s name')
    .option('--gpu <n>', 'only this GPU', intArg('--gpu'))
    .option('-q, --queue <queue>', 'the tracker’s queue (when trackers of that name serve several)')
    .action(run((ctx, tracker: string, flags: DrainFlags) => runDrain(ctx, 'undrain', tracker, flags)));
}
