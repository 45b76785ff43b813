/**
 * Submits a batch script with `sbatch --parsable` (the script on stdin, so nothing is left on
 * disk unless asked) and reads the job id back. A refusal is reported with SLURM's own message
 * (`sbatch: error: Invalid generic resource (gres) specification`), not a generic failure.
 */
import { execa } from 'execa';
import { GpufleetError } from '@gpufleet/core';

export interface SubmittedJob {
  jobId: string;
  /** The cluster, when sbatch names one (`123;cluster`). */
  cluster: string | null;
}

export class SbatchRefusedError extends GpufleetError {
  constructor(readonly slurmMessage: string) {
    super('SBATCH_REFUSED', `sbatch refused the job: ${slurmMessage}`);
  }
}

export async function sbatch(
  script: string,
  options: { env?: Record<string, string | undefined>; args?: readonly string[] } = {},
): Promise<SubmittedJob> {
  const result = await execa('sbatch', ['--parsable', ...(options.args ?? [])], {
    input: script,
    env: options.env,
    reject: false,
  });
  if (result.failed || result.exitCode !== 0) {
    const message = String(result.stderr || result.stdout || result.shortMessage || 'no message').trim();
    if ((result as { code?: string }).code === 'ENOENT')
      throw new SbatchRefusedError('sbatch is not installed on this host (no SLURM client)');
    throw new SbatchRefusedError(message.split('\n').filter(Boolean).join('; '));
  }
  const [jobId = '', cluster] = result.stdout.trim().split(';');
  if (!/^\d+$/.test(jobId)) throw new SbatchRefusedError(`unexpected answer: ${result.stdout.trim()}`);
  return { jobId, cluster: cluster ?? null };
}
