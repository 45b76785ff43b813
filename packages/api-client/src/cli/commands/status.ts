/**
 * `gpufleet status <id>` (the task's record: name and tags, status, priority and whether it is
 * preemptible, how often and by which task it was preempted, attempts, tracker and GPUs, times,
 * GPU usage (peak memory, mean utilisation), exit code, error with its failure code, why it waits,
 * its place in line and when it is expected to start while it is queued, outputs, and when it was
 * archived if it left Redis; a service's state, uptime, restarts and endpoints, and why its
 * lifetime ended it) and `gpufleet
 * ls` (your tasks, newest first, filtered by status, executer, queue, name and tags; a preemptible
 * task's priority is marked `*`, explained below the table; a SERVICE column when a task runs a
 * service: its state, uptime and endpoints; with `--archived`, the archived tasks
 * that ended within `--since` or `--from`/`--to`, newest day first; without it, those ranges bound creation).
 */
import type { Command } from 'commander';
import type { TaskSummary, TaskView } from '../../generated/api-types.js';
import { UsageError } from '../../errors.js';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import {
  formatDuration,
  formatTags,
  formatTime,
  PREEMPTIBLE_NOTE,
  table,
  TASK_HEADERS,
  taskRow,
} from '../format.js';
import { formatBytes } from '../progress-line.js';
import { serviceRows, withServiceColumn } from '../service-text.js';
import { collect, durationArg, intArg, type CommandRunner } from './command-kit.js';

/** `ls --archived` without a range: the last week (the API lists at most 31 days at once). */
const DEFAULT_ARCHIVED_SINCE_MS = 7 * 86_400_000;

function describe(t: TaskView): string {
  const rows: Array<[string, string]> = [['id', t.id]];
  if (t.name !== null) rows.push(['name', t.name]);
  if (Object.keys(t.tags).length > 0) rows.push(['tags', formatTags(t.tags)]);
  rows.push(
    ['status', `${t.status}${t.cancelRequested && t.status === 'running' ? ' (cancel requested)' : ''}`],
    ['attempt', `${t.attempt} (up to ${t.maxAttempts} may be lost to crashes)`],
    ['executer', `${t.executer}${t.executerVersion ? ` ${t.executerVersion}` : ''}`],
    ['queue', t.queue],
    ['priority', `${t.priority}${t.preemptible ? ', preemptible' : ''}`],
  );
  // A preemption is no attempt (the attempt row does not show it), so it is told on its own.
  if (t.preemptions > 0) {
    const times = t.preemptions === 1 ? '1 time' : `${t.preemptions} times`;
    rows.push(['preempted', `${times}${t.preemptedBy !== null ? `, last by ${t.preemptedBy}` : ''}`]);
  }
  // Why it waits, in the API's words (docs/api.md), its place in line when it has one, and when GPUs
  // are reserved for it the time they free by: "by", as it may start sooner.
  if (t.status === 'queued' && t.waitReason !== null) {
    const position = t.queuePosition !== null ? `, position ${t.queuePosition}` : '';
    const start = t.expectedStartAt !== null ? `, expected to start by ${formatTime(t.expectedStartAt)}` : '';
    rows.push(['waits', `${t.waitReason}${position}${start}`]);
  }
  rows.push(
    ['gpus', `${t.gpus}${t.gpuIds.length > 0 ? ` (ids ${t.gpuIds.join(',')})` : ''}${gpuRequestText(t)}`],
    ['tracker', t.tracker ?? '-'],
    ...serviceRows(t),
    ['created', formatTime(t.createdAt)],
    ['started', formatTime(t.startedAt)],
    ['ended', formatTime(t.endedAt)],
  );
  // It left Redis for the archive: told, since its live log is gone (logs come from its outputs).
  if (t.archived) rows.push(['archived', formatTime(t.archivedAt)]);
  rows.push(['time limit', formatDuration(t.timeLimitMs)]);
  if (t.notBefore) rows.push(['retry after', formatTime(t.notBefore)]);
  if (t.after !== null) rows.push(['after', `${t.after} (starts once that task has ended)`]);
  if (t.envSetup !== null) rows.push(['env setup', t.envSetup]);
  const slurm = Object.entries(t.slurm).map(([k, v]) => `${k}=${String(v)}`);
  if (slurm.length > 0) rows.push(['slurm', slurm.join(' ')]);
  // The last ended attempt's, from its tracker's samples of its GPUs (none: no sample was taken).
  if (t.gpuPeakMemoryMiB !== null || t.gpuMeanUtilizationPercent !== null) {
    const peak = t.gpuPeakMemoryMiB === null ? '-' : `${t.gpuPeakMemoryMiB} MiB`;
    const mean = t.gpuMeanUtilizationPercent === null ? '-' : `${t.gpuMeanUtilizationPercent}%`;
    rows.push(['gpu usage', `peak memory ${peak}, mean utilisation ${mean}`]);
  }
  if (t.exitCode !== null) rows.push(['exit code', String(t.exitCode)]);
  if (t.signal) rows.push(['signal', t.signal]);
  if (t.error || t.errorCode) rows.push([t.errorCode ? `error (${t.errorCode})` : 'error', t.error ?? '']);
  rows.push(['params', JSON.stringify(t.params)]);
  if (t.inputs.length > 0)
    rows.push([
      'inputs',
      `${t.inputs.length} (${t.inputs
        .slice(0, 3)
        .map((i) => i.name)
        .join(', ')}${t.inputs.length > 3 ? ', …' : ''})`,
    ]);
  if (t.outputs) rows.push(['outputs', `${t.outputs.files} files, ${formatBytes(t.outputs.bytes)}`]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n');
}

/** What the task asks of each GPU, after its count: `, model H100 or A100, at least 40960 MiB each`. */
function gpuRequestText(t: TaskView): string {
  const models = t.gpuModels.length > 0 ? `, model ${t.gpuModels.join(' or ')}` : '';
  const memory = t.minGpuMemoryMiB !== null ? `, at least ${t.minGpuMemoryMiB} MiB each` : '';
  const share = t.gpuShareMiB !== null ? `, a share of ${t.gpuShareMiB} MiB` : '';
  return `${models}${memory}${share}`;
}

export async function runStatus(ctx: CliContext, id: string): Promise<number> {
  const task = await ctx.client.getTask(id, { signal: ctx.signal });
  if (ctx.out.json) ctx.out.document(task);
  else ctx.out.line(describe(task));
  return EXIT.OK;
}

export interface ListFlags {
  status?: string;
  executer?: string;
  queue?: string;
  name?: string;
  tag: string[];
  /** Another tenant's tasks, or `*` for every tenant's (admin keys). */
  tenant?: string;
  limit: number;
  all?: boolean;
  archived?: boolean;
  /** ms: tasks created (--archived: that ended) this long ago or since. */
  since?: number;
  from?: string;
  to?: string;
}

/**
 * The listing's time range: with --archived, when the tasks ended (a range is required: the last
 * week by default); without, when they were created (none by default).
 */
function rangeQuery(flags: ListFlags): { archived?: true; from?: string; to?: string } {
  if (flags.since !== undefined && flags.from !== undefined)
    throw new UsageError('give --since or --from, not both');
  const since = flags.since ?? (flags.archived ? DEFAULT_ARCHIVED_SINCE_MS : undefined);
  const from = flags.from ?? (since === undefined ? undefined : String(Date.now() - since));
  return { ...(flags.archived && { archived: true }), from, to: flags.to };
}

export async function runList(ctx: CliContext, flags: ListFlags): Promise<number> {
  const range = rangeQuery(flags);
  const items: TaskSummary[] = [];
  let cursor: string | undefined;
  // A page may be short while a cursor is handed back: keep reading until the limit or the end.
  do {
    const page = await ctx.client.listTasks(
      {
        ...range,
        status: flags.status,
        executer: flags.executer,
        queue: flags.queue,
        name: flags.name,
        tag: flags.tag.length > 0 ? flags.tag : undefined,
        tenant: flags.tenant,
        limit: flags.all ? 200 : Math.min(200, flags.limit - items.length),
        cursor,
      },
      { signal: ctx.signal },
    );
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && (flags.all || items.length < flags.limit));
  if (ctx.out.json) ctx.out.document({ items, nextCursor: cursor ?? null });
  else if (items.length === 0) ctx.out.note(flags.archived ? 'no archived tasks in that range' : 'no tasks');
  else {
    // Tasks of another tenant, or of several: say whose each is.
    const shown =
      flags.tenant === undefined
        ? withServiceColumn(TASK_HEADERS, items.map(taskRow), items)
        : withServiceColumn(
            ['TENANT', ...TASK_HEADERS],
            items.map((t) => [t.tenant, ...taskRow(t)]),
            items,
          );
    ctx.out.line(table(shown.headers, shown.rows));
    // The mark's meaning on stderr, only when one is shown: the table on stdout stays a table.
    if (items.some((t) => t.preemptible)) ctx.out.note(PREEMPTIBLE_NOTE);
  }
  return EXIT.OK;
}

export function statusCommands(program: Command, run: CommandRunner): void {
  program
    .command('status')
    .description('show a task: status, attempts, tracker, times, exit code, outputs')
    .argument('<id>', 'task id')
    .action(run((ctx, id: string) => runStatus(ctx, id)));
  program
    .command('ls')
    .description('list your tasks, newest first (--archived: those that left Redis, by end day)')
    .option('-s, --status <statuses>', 'only these statuses (comma-separated: queued,running)')
    .option('-e, --executer <name>', 'only this executer')
    .option('-q, --queue <queue>', 'only this queue')
    .option('--name <name>', 'only tasks of this name (a trailing * matches a prefix: sweep-*)')
    .option(
      '--tag <key[=value]>',
      'only tasks with this tag, or with this key (repeatable, all must match)',
      collect,
      [],
    )
    .option('--tenant <name>', "another tenant's tasks, or * for every tenant's (admin keys)")
    .option('-n, --limit <n>', 'at most this many', intArg('--limit', 1), 50)
    .option('-a, --all', 'every task (no limit)')
    .option('--archived', 'archived tasks (ended long enough ago to leave Redis), newest day first')
    .option(
      '--since <duration>',
      'created this long ago or since (--archived: ended; default 7d there)',
      durationArg('--since'),
    )
    .option(
      '--from <time>',
      'created at or after (--archived: ended) (ms, 2024-05-01 or 2024-05-01T12:00:00Z)',
    )
    .option('--to <time>', 'created at or before (--archived: ended) (a date alone is the whole day)')
    .action(run((ctx, flags: ListFlags) => runList(ctx, flags)));
}
