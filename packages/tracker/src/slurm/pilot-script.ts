/**
 * The sbatch script of a pilot: a SLURM job (or each task of a job array) that runs one gpufleet
 * tracker on the GPUs SLURM gave it. The tracker's consumer name is derived from the job id
 * (`slurm-<SLURM_JOB_ID>`: unique, also for each task of an array), its GPUs are those in
 * CUDA_VISIBLE_DEVICES as SLURM set it, SLURM's time-limit warning (`--signal=B:USR1@<secs>`,
 * sent to the batch shell, which is the tracker: `exec`) makes it stop taking tasks and finish or
 * hand back its running ones within three quarters of the warning, and GPUFLEET_IDLE_EXIT_MS ends
 * it when it has had nothing to run for that long. Everything else the tracker reads from the
 * environment the job is submitted with (sbatch exports it by default) or from `.env` in the job's
 * folder.
 */
import { ConfigError, type FieldIssue } from '@gpufleet/core';
import {
  arrayProblem,
  resourceDirectives,
  slurmResourceIssues,
  slurmTimeSeconds,
  type SlurmResources,
} from './slurm-values.js';

export interface PilotOptions extends SlurmResources {
  /** `--array` (`0-3`, `0-15%4`); absent: one job. */
  array?: string;
  /** Seconds before the time limit at which SLURM warns the tracker (default 120). */
  warningSeconds?: number;
  /** The tracker stops after this long with nothing to run (ms; 0: never). */
  idleExitMs?: number;
  jobName?: string;
  /** The job's working folder (`--chdir`); its `.env` is read by the tracker. */
  chdir?: string;
  /** `--output`; default `gpufleet-pilot-%j.out` (`%A_%a` for an array). */
  output?: string;
  /** How to start the tracker: argv, e.g. ['node', '/opt/gpufleet/packages/tracker/bin/gpufleet-tracker.js']. */
  tracker: readonly string[];
}

export const DEFAULT_WARNING_SECONDS = 120;

/** Quotes one word for bash. */
function quote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** What is wrong with the options, each naming its option. */
export function pilotIssues(o: PilotOptions): FieldIssue[] {
  const issues = slurmResourceIssues(o);
  const warning = o.warningSeconds ?? DEFAULT_WARNING_SECONDS;
  if (o.array !== undefined) {
    const problem = arrayProblem(o.array);
    if (problem) issues.push({ field: 'array', reason: problem });
  }
  if (!Number.isInteger(warning) || warning < 1 || warning > 65_535)
    issues.push({
      field: 'warning',
      reason: `must be a whole number of seconds from 1 to 65535 (got ${warning})`,
    });
  const time = o.time === undefined ? null : slurmTimeSeconds(o.time);
  if (time !== null && Number.isFinite(time) && warning >= time)
    issues.push({
      field: 'warning',
      reason: `must be shorter than the time limit (${warning} s ≥ ${time} s)`,
    });
  if (o.idleExitMs !== undefined && !(Number.isInteger(o.idleExitMs) && o.idleExitMs >= 0))
    issues.push({ field: 'idleExit', reason: 'must be a duration of 0 or more' });
  if (o.jobName !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(o.jobName))
    issues.push({ field: 'jobName', reason: 'must be letters, digits, _ . - (at most 64)' });
  if (o.tracker.length === 0)
    issues.push({ field: 'tracker', reason: 'must name the command that starts the tracker' });
  return issues;
}

/** The script; a ConfigError naming every bad option. */
export function pilotScript(o: PilotOptions): string {
  const issues = pilotIssues(o);
  if (issues.length > 0) throw new ConfigError(issues);
  const warning = o.warningSeconds ?? DEFAULT_WARNING_SECONDS;
  const directives = [
    `--job-name=${o.jobName ?? 'gpufleet-pilot'}`,
    ...resourceDirectives(o),
    `--signal=B:USR1@${warning}`,
    ...(o.array !== undefined ? [`--array=${o.array}`] : []),
    `--output=${o.output ?? (o.array !== undefined ? 'gpufleet-pilot-%A_%a.out' : 'gpufleet-pilot-%j.out')}`,
    ...(o.chdir !== undefined ? [`--chdir=${o.chdir}`] : []),
  ];
  return [
    '#!/bin/bash',
    ...directives.map((d) => `#SBATCH ${d}`),
    '# Written by `gpufleet-slurm launch`: one gpufleet tracker on the GPUs SLURM gave this job.',
    'export REDIS_CONSUMER_NAME="slurm-${SLURM_JOB_ID}"',
    'export GPUFLEET_GPUS="${CUDA_VISIBLE_DEVICES:-none}"',
    `export GPUFLEET_WARNING_GRACE_MS=${Math.floor(warning * 750)}`,
    `export GPUFLEET_IDLE_EXIT_MS=${o.idleExitMs ?? 0}`,
    `exec ${o.tracker.map(quote).join(' ')}`,
    '',
  ].join('\n');
}
