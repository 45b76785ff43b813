/**
 * The settings of a tracker that fronts a SLURM partition (GPUFLEET_BACKEND=slurm): each task it
 * takes becomes a SLURM job (slurm/slurm-job.ts). It keeps at most GPUFLEET_SLURM_GPUS GPUs' worth
 * of GPU jobs and GPUFLEET_SLURM_CPU_JOBS jobs without a GPU in SLURM at once (its "GPUs" are
 * those slots, not devices of its own host), with the partition, account, memory and CPUs per job
 * given here, checked at start as sbatch would check them: the defaults, which a task's own
 * (its spec's `slurm`) override field by field (run/attempt-process.ts).
 */
import type { EnvReader } from '@gpufleet/core';
import type { SlurmJobResources } from '../run/attempt-types.js';
import { slurmResourceIssues } from './slurm-values.js';

export interface SlurmBackendConfig {
  gpus: number;
  cpuJobs: number;
  pollMs: number;
  /** How often jobs whose task has ended are cancelled (slurm/leftover-jobs.ts). */
  sweepMs: number;
  resources: SlurmJobResources;
}

/** null for the default, local backend. */
export function readSlurmBackend(r: EnvReader): SlurmBackendConfig | null {
  const backend = r.string('GPUFLEET_BACKEND', 'local', (v) =>
    v === 'local' || v === 'slurm'
      ? null
      : 'must be local (run executers here) or slurm (each task a SLURM job)',
  );
  if (backend !== 'slurm') return null;
  const cpus = r.raw('GPUFLEET_SLURM_CPUS_PER_TASK');
  const resources: SlurmJobResources = {
    ...(r.raw('GPUFLEET_SLURM_PARTITION') !== undefined && { partition: r.raw('GPUFLEET_SLURM_PARTITION') }),
    ...(r.raw('GPUFLEET_SLURM_ACCOUNT') !== undefined && { account: r.raw('GPUFLEET_SLURM_ACCOUNT') }),
    ...(r.raw('GPUFLEET_SLURM_MEM') !== undefined && { mem: r.raw('GPUFLEET_SLURM_MEM') }),
    ...(cpus !== undefined && {
      cpusPerTask: r.int('GPUFLEET_SLURM_CPUS_PER_TASK', 1, { min: 1, max: 4096 }),
    }),
  };
  const field = {
    partition: 'PARTITION',
    account: 'ACCOUNT',
    mem: 'MEM',
    cpusPerTask: 'CPUS_PER_TASK',
  } as const;
  for (const issue of slurmResourceIssues(resources)) {
    r.fail(`GPUFLEET_SLURM_${field[issue.field as keyof typeof field] ?? issue.field}`, issue.reason);
  }
  return {
    gpus: r.int('GPUFLEET_SLURM_GPUS', 8, { min: 0, max: 4096 }),
    cpuJobs: r.int('GPUFLEET_SLURM_CPU_JOBS', 8, { min: 0, max: 4096 }),
    pollMs: r.int('GPUFLEET_SLURM_POLL_MS', 1000, { min: 100, max: 60_000 }),
    sweepMs: r.int('GPUFLEET_SLURM_SWEEP_MS', 30_000, { min: 100, max: 3_600_000 }),
    resources,
  };
}
