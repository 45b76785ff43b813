/**
 * A job's end from SLURM's accounting (`sacct`, kept by slurmdbd), for a job slurmctld no longer
 * knows: slurmctld forgets a finished job after MinJobAge, and one that crashed before saving its
 * state forgets jobs it had; the accounting database keeps them. Asked only once a job has been
 * unknown to slurmctld for a while (slurm/slurm-job.ts): a final state there is the attempt's end
 * (no needless rerun of a task that completed); none (no accounting on the cluster: sacct fails
 * with "accounting storage is disabled"; or it does not know the job either) leaves the job lost.
 */
import { execa } from 'execa';
import type { JobState } from './slurm-job.js';

/**
 * The job's state and exit code from `sacct --parsable2` output (`State|ExitCode` lines, the job's
 * allocation first): `COMPLETED|0:0`, `CANCELLED by 0|0:15`, `FAILED|3:0`. null when there is none.
 */
export function parseSacct(text: string): JobState | null {
  const line = text.split('\n').find((l) => l.trim() !== '');
  if (line === undefined) return null;
  const [stateField = '', exit = ''] = line.trim().split('|');
  const state = stateField.split(' ')[0] ?? '';
  const code = /^(\d+):(\d+)$/.exec(exit);
  if (state === '' || !code) return null;
  return { state, exitCode: Number(code[1]), signal: Number(code[2]) };
}

/** What accounting says of job `id`; null when the cluster has no accounting or it has no such job. */
export async function accountedState(id: string): Promise<JobState | null> {
  const result = await execa(
    'sacct',
    ['--noheader', '--parsable2', '--allocations', `--jobs=${id}`, '--format=State,ExitCode'],
    { reject: false },
  );
  return result.exitCode === 0 ? parseSacct(String(result.stdout)) : null;
}
