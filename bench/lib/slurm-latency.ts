/**
 * Submit → start of one task on an idle SLURM cluster, for bench/slurm.ts, one sample at a time
 * (each waits until the one before has ended and its GPU is free again). The start is the moment
 * the program's first act stamps (bench/lib/slurm-stamp.ts); the submission the moment just before
 * the submitting call: `sbatch` for SLURM alone, gpufleet's `enqueue` for a pilot tracker already
 * running in a SLURM job or for a tracker that fronts the partition (its `sbatch` is then part of
 * the start). All three ask for one GPU.
 */
import { enqueue, queueKeys, waitForTaskEnd } from '@gpufleet/core';
import type { SlurmCluster } from '@gpufleet/testkit';
import { median, quantile } from './stats.js';
import { sbatchStamp, waitForJobsGone, type GpufleetSide } from './slurm-setup.js';
import { stampArgs, stampSpec, waitForStamps, type StampFiles } from './slurm-stamp.js';

/** One path's samples, ms. */
export interface LatencySamples {
  /** Submission → the program's first act. */
  startMs: number[];
  /** Submission → the submitting call answered (sbatch's job id, enqueue's task id). */
  submitCallMs: number[];
}

export interface LatencyFigures {
  n: number;
  p50: number;
  p90: number;
  min: number;
  max: number;
  submitCallP50: number;
}

export function latencyFigures(samples: LatencySamples): LatencyFigures {
  const s = samples.startMs;
  return {
    n: s.length,
    p50: median(s),
    p90: quantile(s, 0.9),
    min: s.length ? Math.min(...s) : NaN,
    max: s.length ? Math.max(...s) : NaN,
    submitCallP50: median(samples.submitCallMs),
  };
}

export const emptySamples = (): LatencySamples => ({ startMs: [], submitCallMs: [] });

const TIMEOUT_MS = 60_000;

/** sbatch alone (with `extra` flags): one sample, `name` naming its stamps. */
export async function sampleSbatch(
  slurm: SlurmCluster,
  files: StampFiles,
  name: string,
  into: LatencySamples,
  extra: readonly string[] = [],
): Promise<void> {
  const job = await sbatchStamp(slurm, files.script, stampArgs(files.stamps, name, 0), 1, 1, extra);
  const [started] = await waitForStamps(files.stamps, [name], 'start', TIMEOUT_MS);
  into.startMs.push((started as number) - job.submitMs);
  into.submitCallMs.push(job.acceptedMs - job.submitMs);
  await waitForJobsGone(slurm, [job.jobId], TIMEOUT_MS);
}

/** Through gpufleet (a pilot or a backend tracker on `side`'s prefix): one sample. */
export async function sampleGpufleet(
  side: GpufleetSide,
  files: StampFiles,
  name: string,
  into: LatencySamples,
): Promise<void> {
  const submitMs = Date.now();
  const { id } = await enqueue({ redis: side.redis, prefix: side.prefix }, stampSpec(files.stamps, name, 0));
  const acceptedMs = Date.now();
  const [started] = await waitForStamps(files.stamps, [name], 'start', TIMEOUT_MS);
  into.startMs.push((started as number) - submitMs);
  into.submitCallMs.push(acceptedMs - submitMs);
  const record = await waitForTaskEnd(side.redis, queueKeys(side.prefix, 'default'), id, {
    timeoutMs: TIMEOUT_MS,
  });
  if (record.status !== 'succeeded') throw new Error(`task ${id} ended ${record.status}: ${record.error}`);
}
