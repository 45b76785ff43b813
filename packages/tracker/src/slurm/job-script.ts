/**
 * The batch script of one attempt run as a SLURM job by a tracker that fronts a partition
 * (GPUFLEET_BACKEND=slurm, slurm/slurm-job.ts): the executer's argv `exec`ed as whole, quoted
 * words (nothing of the task's parameters is read by the shell), its environment exported the same
 * way, its stdout and stderr into the task folder's log files (which must be on storage the
 * tracker and the nodes share), and the job's resources: `--gres=gpu[:type]:N` for its GPUs (the
 * GPU model it asks for, lowercased, as the type where it names exactly one), a time limit one
 * minute past the task's (the tracker enforces the task's own and cancels; SLURM's is the
 * backstop), and the partition, account, memory and CPUs the task asks for (its spec's `slurm`),
 * else the tracker's settings. CUDA_VISIBLE_DEVICES is left to SLURM, and GPUFLEET_GPU_IDS follows
 * it. A task's env setup line comes already in the argv (run/env-setup.ts: `/bin/bash -c ...`).
 */
import type { SpawnRequest } from '../process/spawner.js';
import type { SlurmResources } from './slurm-values.js';
import { resourceDirectives } from './slurm-values.js';

/** What a local spawn takes (the program, its folder, its log files), and the job's resources. */
export interface JobScriptInput extends SpawnRequest {
  jobName: string;
  gpus: number;
  /** The task's GPU models (patterns); one plain name becomes the gres type. */
  gpuModels: readonly string[];
  timeLimitMs: number;
  /** The partition, account, memory, CPUs per job: the task's, else the tracker's. */
  resources: Omit<SlurmResources, 'gpus' | 'gpuType' | 'time'>;
}

/** The name of the job that runs task `taskId` (slurm/leftover-jobs.ts reads it back). */
export const JOB_NAME_PREFIX = 'gpufleet-';
export function taskJobName(taskId: string): string {
  return `${JOB_NAME_PREFIX}${taskId}`;
}

/** Quotes one word for bash, always. */
export function shellWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Minutes as SLURM's `--time` takes them: at least one, rounded up, plus one as a margin. */
export function slurmMinutes(ms: number): number {
  return Math.max(1, Math.ceil(ms / 60_000)) + 1;
}

/** The variables SLURM sets for the job, not the tracker. */
const LEFT_TO_SLURM = new Set(['CUDA_VISIBLE_DEVICES', 'GPUFLEET_GPU_IDS']);

export function jobScript(input: JobScriptInput): string {
  const model = input.gpuModels.length === 1 ? (input.gpuModels[0] ?? '') : '';
  const gpuType = /^[A-Za-z0-9_.-]+$/.test(model) ? model.toLowerCase() : undefined;
  const directives = [
    `--job-name=${input.jobName}`,
    ...resourceDirectives({
      ...input.resources,
      time: String(slurmMinutes(input.timeLimitMs)),
      ...(input.gpus > 0 && { gpus: input.gpus, ...(gpuType && { gpuType }) }),
    }),
    `--chdir=${input.cwd}`,
    `--output=${input.stdoutPath}`,
    `--error=${input.stderrPath}`,
    '--export=NIL', // only the variables the script exports: neither the tracker's nor a login environment
    '--no-requeue',
  ].map((d) => `#SBATCH ${d}`);
  const exports = Object.entries(input.env)
    .filter(([name]) => !LEFT_TO_SLURM.has(name) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    .map(([name, value]) => `export ${name}=${shellWord(value)}`);
  return [
    '#!/bin/bash',
    ...directives,
    '# Written by a gpufleet tracker (GPUFLEET_BACKEND=slurm): one attempt of one task.',
    ...exports,
    'export GPUFLEET_GPU_IDS="${CUDA_VISIBLE_DEVICES:-}"',
    `exec ${[input.file, ...input.args].map(shellWord).join(' ')}`,
    '',
  ].join('\n');
}
