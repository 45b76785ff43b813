/**
 * `gpufleet wait <id...>` (exit 1 unless every task succeeded), `gpufleet cancel <id...>`
 * (`--wait` until they ended) and `gpufleet download <id> [files...]` (checked against the
 * manifest's sha256; files already there are kept). Several ids: each is handled, and the exit
 * code is the most serious outcome.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CancelResult, TaskView } from '../../generated/api-types.js';
import { DownloadError } from '../../errors.js';
import type { CliContext } from '../cli-context.js';
import { EXIT, exitCodeFor, worstExit } from '../exit-codes.js';
import { outcome } from '../format.js';
import { formatBytes } from '../progress-line.js';
import { downloadWithProgress, waitAll } from '../task-progress.js';
import type { CommandRunner } from './command-kit.js';

export async function runWait(ctx: CliContext, ids: string[]): Promise<number> {
  const tasks = await waitAll(ctx, ids, (t) => ctx.out.line(`${t.id} ${outcome(t)}`));
  if (ctx.out.json) ctx.out.document({ tasks });
  return tasks.every((t) => t.status === 'succeeded') ? EXIT.OK : EXIT.FAILED;
}

export async function runCancel(ctx: CliContext, ids: string[], flags: { wait?: boolean }): Promise<number> {
  const codes: number[] = [];
  const results: Array<CancelResult | { id: string; error: { code: string; message: string } }> = [];
  for (const id of ids) {
    try {
      const result = await ctx.client.cancel(id, { signal: ctx.signal });
      results.push(result);
      ctx.out.line(
        result.cancelRequested ? `${id} cancel requested (it was ${result.status})` : `${id} cancelled`,
      );
    } catch (error) {
      const code = exitCodeFor(error);
      codes.push(code);
      const failure = {
        code: (error as { code?: string }).code ?? 'INTERNAL',
        message: (error as Error).message,
      };
      results.push({ id, error: failure });
      ctx.out.note(`gpufleet: ${id}: ${failure.message}`);
    }
  }
  let finals: TaskView[] = [];
  if (flags.wait) {
    const requested = results.filter((r): r is CancelResult => 'cancelRequested' in r && r.cancelRequested);
    finals = await waitAll(
      ctx,
      requested.map((r) => r.id),
      (t) => ctx.out.line(`${t.id} ${outcome(t)}`),
    );
  }
  if (ctx.out.json) {
    ctx.out.document({
      tasks: results.map((r) => {
        const final = finals.find((f) => f.id === r.id);
        return final ? { ...r, status: final.status, cancelRequested: false } : r;
      }),
    });
  }
  return worstExit(codes);
}

export async function runDownload(
  ctx: CliContext,
  id: string,
  files: string[],
  flags: { out?: string },
): Promise<number> {
  const dir = resolve(ctx.runtime.cwd, flags.out ?? id);
  const result = await downloadWithProgress(ctx, id, dir, files);
  if (!result) throw new DownloadError('NO_OUTPUTS', `task ${id} ended without outputs`);
  if (ctx.out.json) {
    ctx.out.document(result);
    return EXIT.OK;
  }
  for (const file of result.files) ctx.out.line(file.localPath);
  const kept = result.files.filter((f) => f.skipped).length;
  ctx.out.note(
    `${result.files.length} files, ${formatBytes(result.bytes)} in ${result.dir}` +
      (kept > 0 ? ` (${kept} already there)` : ''),
  );
  return EXIT.OK;
}

export function taskActionCommands(program: Command, run: CommandRunner): void {
  program
    .command('wait')
    .description('wait until the tasks ended; exit 1 unless every one succeeded')
    .argument('<id...>', 'task ids')
    .action(run((ctx, ids: string[]) => runWait(ctx, ids)));
  program
    .command('cancel')
    .description('cancel tasks: a queued task ends at once, a running one is stopped')
    .argument('<id...>', 'task ids')
    .option('-w, --wait', 'wait until the running ones stopped')
    .action(run((ctx, ids: string[], flags: { wait?: boolean }) => runCancel(ctx, ids, flags)));
  program
    .command('download')
    .description('download a task’s outputs (all, or the files or folders named)')
    .argument('<id>', 'task id')
    .argument('[files...]', 'output paths or folders (default: all)')
    .option('-o, --out <dir>', 'where to put them (default: ./<id>)')
    .action(
      run((ctx, id: string, files: string[], flags: { out?: string }) => runDownload(ctx, id, files, flags)),
    );
}
