/**
 * `gpufleet submit <executer>`: one task, or `--runs N` runs of it, or the cross product of the
 * `--sweep`s (times the runs), each with its own Idempotency-Key derived from one base key (so a
 * repeated command with `--idempotency-key` makes no new tasks). Inputs are uploaded with each
 * task. Prints the ids as they are made; `--follow` streams the output, `--wait` waits for the
 * end and exits 1 unless every task succeeded, `--download DIR` fetches the outputs (into
 * `DIR/<id>` when there are several tasks). `--name` and `--tag key=value` label every task made;
 * `--priority N` (0-1000, higher starts first) sets the priority of each; `--preemptible` lets a
 * task of higher priority stop and requeue them (the preemption does not count as an attempt).
 * `--gpu-model` and `--gpu-memory` ask for GPUs of a model and memory, `--gpu-share` for a share
 * of one GPU by memory; `--wait-for-capacity`
 * accepts a task that no live tracker can run yet (the API refuses it otherwise). `--wait-ready`
 * waits for a service task's endpoints and prints them (exit 1 if a task ended first, 5 past
 * `--ready-timeout`); it waits for no end, so it is refused with --wait, --follow or --download.
 * `--profile NAME` (here or before the command) gives the connection and the task defaults: queue,
 * GPUs, time limit, retries, env setup line and SLURM resources (cli/task-defaults.ts); a bad
 * config file is refused before anything is submitted. `--env-setup` sets the env line itself.
 * `--chain` makes each task wait for the end of the one submitted before it (the API's `after`:
 * the chain is kept by the fleet, not by this command), `--after ID` the first for task ID.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { TaskSpec, TaskView } from '../../generated/api-types.js';
import type { DownloadResult } from '../../outputs/download-outputs.js';
import type { SubmittedTask } from '../../task/task-handle.js';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { outcome } from '../format.js';
import { parseTags, paramSchemas, parseParams, readParamsFile, sweepCombinations } from '../params.js';
import { bar, formatBytes } from '../progress-line.js';
import { downloadWithProgress, followAll, waitAll } from '../task-progress.js';
import { envSetupArg, taskDefaults } from '../task-defaults.js';
import {
  collect,
  durationArg,
  intArg,
  memorySizeArg,
  priorityArg,
  type CommandRunner,
} from './command-kit.js';
import { waitReadyAll, type ReadyOutcome } from './endpoints.js';
import { checkSubmitFlags, type SubmitFlags } from './submit-flags.js';

interface Planned {
  spec: TaskSpec;
  run: number;
  params: Record<string, unknown>;
}

async function plan(ctx: CliContext, executer: string, flags: SubmitFlags): Promise<Planned[]> {
  const defaults = ctx.connection.defaults;
  const queue = flags.queue ?? defaults.queue;
  const tags = parseTags(flags.tag);
  const base = flags.paramsFile ? await readParamsFile(flags.paramsFile) : {};
  const needsSchema = flags.param.length > 0 || flags.sweep.length > 0;
  const offer = needsSchema
    ? (await ctx.client.executers({ queue, signal: ctx.signal })).executers.find((e) => e.name === executer)
    : undefined;
  const schemas = paramSchemas(offer?.params);
  const params = { ...base, ...parseParams(flags.param, schemas) };
  const combos = sweepCombinations(flags.sweep, schemas);
  const planned: Planned[] = [];
  for (let run = 1; run <= flags.runs; run++) {
    for (const combo of combos) {
      const all = { ...params, ...combo };
      const spec: TaskSpec = { executer };
      if (Object.keys(all).length > 0) spec.params = all;
      Object.assign(spec, taskDefaults(flags, defaults));
      if (queue !== undefined) spec.queue = queue;
      if (flags.name !== undefined) spec.name = flags.name;
      if (flags.priority !== undefined) spec.priority = flags.priority;
      // Only sent when given: absent and false mean the same, and an older API may not know it.
      if (flags.preemptible) spec.preemptible = true;
      if (flags.gpuMemory !== undefined) spec.minGpuMemoryMiB = flags.gpuMemory;
      if (flags.gpuShare !== undefined) spec.gpuShareMiB = flags.gpuShare;
      if (flags.waitForCapacity) spec.waitForCapacity = true;
      if (Object.keys(tags).length > 0) spec.tags = tags;
      planned.push({ spec, run, params: all });
    }
  }
  return planned;
}

async function submitAll(ctx: CliContext, planned: Planned[], flags: SubmitFlags): Promise<SubmittedTask[]> {
  const baseKey = flags.idempotencyKey ?? randomUUID();
  const streaming = ctx.out.json && Boolean(flags.follow);
  const tasks: SubmittedTask[] = [];
  try {
    for (const [i, p] of planned.entries()) {
      const label = planned.length > 1 ? ` ${i + 1}/${planned.length}` : '';
      const previous = tasks.at(-1);
      if (flags.chain && previous) p.spec.after = previous.id;
      else if (flags.after !== undefined) p.spec.after = flags.after;
      ctx.out.progress.update(`submitting${label}`);
      const task = await ctx.client.submit(p.spec, {
        inputs: flags.input,
        idempotencyKey: planned.length === 1 ? baseKey : `${baseKey}-${i + 1}`,
        signal: ctx.signal,
        onUploadProgress: (u) =>
          ctx.out.progress.update(
            `uploading${label} ${bar(u.totalBytes === 0 ? 1 : u.bytes / u.totalBytes)} ` +
              `${formatBytes(u.bytes)}/${formatBytes(u.totalBytes)} ${u.file}`,
          ),
      });
      tasks.push(task);
      if (streaming) ctx.out.record({ type: 'submitted', ...task.submission, run: p.run, params: p.params });
      else ctx.out.line(task.id);
    }
  } catch (error) {
    // Those already accepted stay (their ids are printed above); the same key resumes after them.
    if (tasks.length > 0) {
      ctx.out.progress.done();
      ctx.out.note(
        `submitted ${tasks.length} of ${planned.length} before the error below; ` +
          `rerun with --idempotency-key ${baseKey} to submit the rest without repeating them`,
      );
    }
    throw error;
  } finally {
    ctx.out.progress.done();
  }
  return tasks;
}

export async function runSubmit(ctx: CliContext, executer: string, flags: SubmitFlags): Promise<number> {
  checkSubmitFlags(flags);
  const planned = await plan(ctx, executer, flags);
  const tasks = await submitAll(ctx, planned, flags);
  const ids = tasks.map((t) => t.id);
  let ready: { code: number; outcomes: Map<string, ReadyOutcome> } | null = null;
  if (flags.waitReady) ready = await waitReadyAll(ctx, ids, flags.readyTimeout);
  const finals = new Map<string, Pick<TaskView, 'status' | 'exitCode' | 'error'>>();
  if (flags.follow) {
    for (const [id, end] of await followAll(ctx, ids)) finals.set(id, end);
  }
  if (flags.wait || flags.download !== undefined) {
    const open = ids.filter((id) => !finals.has(id));
    const report = (t: TaskView): void => ctx.out.note(`${t.id} ${outcome(t)}`);
    for (const t of await waitAll(ctx, open, report)) finals.set(t.id, t);
  }
  const downloads = new Map<string, DownloadResult | null>();
  if (flags.download !== undefined) {
    for (const id of ids) {
      const dir = ids.length === 1 ? flags.download : join(flags.download, id);
      const result = await downloadWithProgress(ctx, id, dir);
      downloads.set(id, result);
      ctx.out.note(result ? `${id}: ${result.files.length} files in ${result.dir}` : `${id}: no outputs`);
    }
  }
  const waited = Boolean(flags.wait || flags.follow || flags.download !== undefined);
  const summary = tasks.map((task, i) => {
    const final = finals.get(task.id);
    const download = downloads.get(task.id);
    return {
      ...task.submission,
      run: planned[i]?.run,
      params: planned[i]?.params,
      idempotencyKey: task.idempotencyKey,
      ...(final ? { status: final.status, exitCode: final.exitCode, error: final.error } : {}),
      ...ready?.outcomes.get(task.id),
      ...(download !== undefined
        ? { download: download && { dir: download.dir, files: download.files.map((f) => f.path) } }
        : {}),
    };
  });
  if (ctx.out.json && flags.follow) ctx.out.record({ type: 'summary', tasks: summary });
  else if (ctx.out.json) ctx.out.document({ tasks: summary });
  const failed = waited && [...finals.values()].some((f) => f.status !== 'succeeded');
  return failed ? EXIT.FAILED : (ready?.code ?? EXIT.OK);
}

export function submitCommand(program: Command, run: CommandRunner): void {
  program
    .command('submit')
    .description('submit a task (or several: --runs, --sweep) and print its id')
    .argument('<executer>', 'the executer to run (gpufleet executers lists them)')
    .option(
      '-p, --param <key=value>',
      'a parameter, typed after the executer’s schema (repeatable)',
      collect,
      [],
    )
    .option('--params-file <file.json>', 'parameters from a JSON file (--param wins)')
    .option(
      '-i, --input <path>',
      'a folder (sent as its contents) or file for the inputs (repeatable)',
      collect,
      [],
    )
    .option('--gpus <n>', 'GPUs per task (default: the profile’s, else the executer’s)', intArg('--gpus'))
    .option(
      '--gpu-model <model>',
      'run only on these GPU models, any of them: H100, A100, "rtx 40*" (repeatable, or comma-separated)',
      collect,
      [],
    )
    .option(
      '--gpu-memory <size>',
      'run only on GPUs with at least this much memory each: 40GB, 80GiB, 24576MiB',
      memorySizeArg('--gpu-memory'),
    )
    .option(
      '--gpu-share <size>',
      'share one GPU with other tasks, using at most this much of its memory: 10GB (no isolation without MPS)',
      memorySizeArg('--gpu-share'),
    )
    .option(
      '--wait-for-capacity',
      'accept the task even when no live tracker can run it now (it waits for one to join)',
    )
    .option('--profile <name>', 'the profile: its connection and task defaults (the flags here win)')
    .option(
      '--env-setup <line>',
      'a shell line run before the executer: "conda activate deep" (default: the profile’s env)',
      envSetupArg,
    )
    .option('--timeout <duration>', 'time limit per task: 90s, 10m, 2h', durationArg('--timeout'))
    .option('--retries <n>', 'reruns after a failed exit', intArg('--retries'))
    .option('-q, --queue <queue>', 'the queue (machine group)')
    .option('--runs <n>', 'submit N runs of the task', intArg('--runs', 1), 1)
    .option('--chain', 'each task starts when the one submitted before it has ended (--runs N --chain)')
    .option('--after <id>', 'the (first) task starts when task ID has ended, however it ended')
    .option(
      '--sweep <key=v1,v2>',
      'submit one task per value; several sweeps: the cross product',
      collect,
      [],
    )
    .option('--name <name>', 'a name for the task(s), shown by ls and status (ls --name filters)')
    .option('--tag <key=value>', 'a tag for the task(s) (repeatable; ls --tag filters)', collect, [])
    .option(
      '--priority <n>',
      'priority 0-1000, higher starts first (default: the queue’s; gpufleet priority changes it)',
      priorityArg('--priority'),
    )
    .option(
      '--preemptible',
      'may be stopped (SIGTERM, then a grace) and requeued for a task of higher priority; not counted as an attempt',
    )
    .option('-w, --wait', 'wait for the end; exit 1 unless every task succeeded')
    .option('-f, --follow', 'stream the output until the end (implies --wait)')
    .option('-d, --download <dir>', 'download the outputs when done (implies --wait)')
    .option(
      '--wait-ready',
      'a service: wait until it is ready and print its endpoints; exit 1 if it ends first',
    )
    .option(
      '--ready-timeout <time>',
      'with --wait-ready: wait at most this long, such as 2m (then exit 5)',
      durationArg('--ready-timeout'),
    )
    .option('--idempotency-key <key>', 'submitting again with the same key returns the same task(s)')
    .action(run((ctx, executer: string, flags: SubmitFlags) => runSubmit(ctx, executer, flags)));
}
