#!/usr/bin/env node
/**
 * gpufleet-slurm: gpufleet on a SLURM cluster. `launch` writes and submits a pilot job (or a job
 * array) in which each job runs one tracker on the GPUs SLURM gave it (slurm/pilot-script.ts);
 * the cluster's users then submit to gpufleet as to any fleet. The tracker's settings (REDIS_URL,
 * ARTIFACT_STORE, GPUFLEET_EXECUTERS...) come from the environment `launch` runs in, which sbatch
 * passes on, or from `.env` in `--chdir`.
 *
 *   gpufleet-slurm launch --gpus 2 --time 4:00:00 --array 0-7%4 --warning 300 --idle-exit 10m
 *   gpufleet-slurm launch ... --dry-run        prints the script, submits nothing
 *
 * Exit codes: 0 submitted (the job id on stdout), 1 sbatch refused it (SLURM's message on stderr),
 * 2 a bad option (each named).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, parseDurationMs, type FieldIssue } from '@gpufleet/core';
import { pilotIssues, pilotScript, type PilotOptions } from '../slurm/pilot-script.js';
import { sbatch, SbatchRefusedError } from '../slurm/sbatch.js';

const TRACKER_BIN = fileURLToPath(new URL('../../bin/gpufleet-tracker.js', import.meta.url));

/** The option each field of PilotOptions comes from. */
const OPTION_OF: Record<string, string> = {
  gpuType: 'gpu-type',
  cpusPerTask: 'cpus-per-task',
  idleExit: 'idle-exit',
  jobName: 'job-name',
  warningSeconds: 'warning',
};

const USAGE = `usage: gpufleet-slurm launch [--gpus N] [--gpu-type T] [--time T] [--partition P] [--account A]
       [--mem M] [--cpus-per-task N] [--array SPEC] [--warning SECONDS] [--idle-exit DURATION]
       [--job-name NAME] [--chdir DIR] [--output PATTERN] [--dry-run]`;

function options(argv: string[]): { pilot: PilotOptions; dryRun: boolean; issues: FieldIssue[] } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      gpus: { type: 'string' },
      'gpu-type': { type: 'string' },
      time: { type: 'string' },
      partition: { type: 'string' },
      account: { type: 'string' },
      mem: { type: 'string' },
      'cpus-per-task': { type: 'string' },
      array: { type: 'string' },
      warning: { type: 'string' },
      'idle-exit': { type: 'string' },
      'job-name': { type: 'string' },
      chdir: { type: 'string' },
      output: { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
  });
  const issues: FieldIssue[] = [];
  if (positionals[0] !== 'launch' || positionals.length > 1)
    issues.push({
      field: 'command',
      reason: `must be launch (got ${JSON.stringify(positionals.join(' '))})`,
    });
  const int = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    if (/^\d+$/.test(text)) return Number(text);
    issues.push({ field: name, reason: `must be a whole number (got ${JSON.stringify(text)})` });
    return undefined;
  };
  let idleExitMs: number | undefined;
  if (values['idle-exit'] !== undefined) {
    idleExitMs = parseDurationMs(values['idle-exit']) ?? undefined;
    if (idleExitMs === undefined)
      issues.push({
        field: 'idle-exit',
        reason: `must be a duration such as 90s, 10m or 1h (got ${JSON.stringify(values['idle-exit'])})`,
      });
  }
  const pilot: PilotOptions = {
    tracker: [process.execPath, TRACKER_BIN],
    ...(values.gpus !== undefined && { gpus: int('gpus', values.gpus) }),
    ...(values['gpu-type'] !== undefined && { gpuType: values['gpu-type'] }),
    ...(values.time !== undefined && { time: values.time }),
    ...(values.partition !== undefined && { partition: values.partition }),
    ...(values.account !== undefined && { account: values.account }),
    ...(values.mem !== undefined && { mem: values.mem }),
    ...(values['cpus-per-task'] !== undefined && {
      cpusPerTask: int('cpus-per-task', values['cpus-per-task']),
    }),
    ...(values.array !== undefined && { array: values.array }),
    ...(values.warning !== undefined && { warningSeconds: int('warning', values.warning) }),
    ...(idleExitMs !== undefined && { idleExitMs }),
    ...(values['job-name'] !== undefined && { jobName: values['job-name'] }),
    ...(values.chdir !== undefined && { chdir: values.chdir }),
    ...(values.output !== undefined && { output: values.output }),
  };
  return { pilot, dryRun: values['dry-run'] ?? false, issues };
}

async function main(argv: string[]): Promise<number> {
  let script: string;
  let dryRun: boolean;
  try {
    const parsed = options(argv);
    dryRun = parsed.dryRun;
    // Every bad option at once: those the command line shows, then those of the values.
    const named = new Set(parsed.issues.map((i) => i.field));
    const issues = [...parsed.issues, ...pilotIssues(parsed.pilot).filter((i) => !named.has(i.field))];
    if (issues.length > 0) throw new ConfigError(issues);
    script = pilotScript(parsed.pilot);
  } catch (error) {
    if (error instanceof ConfigError) {
      const lines = error.issues.map((i) => `  --${OPTION_OF[i.field] ?? i.field}: ${i.reason}`);
      process.stderr.write(`gpufleet-slurm: invalid options\n${lines.join('\n')}\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`gpufleet-slurm: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (dryRun) {
    process.stdout.write(script);
    return 0;
  }
  try {
    const job = await sbatch(script);
    process.stdout.write(`${job.jobId}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof SbatchRefusedError)) throw error;
    process.stderr.write(`gpufleet-slurm: ${error.message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `gpufleet-slurm: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
