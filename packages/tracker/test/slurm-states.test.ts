// How a SLURM job's end reads as an attempt's (slurm/slurm-job.ts outcomeOf), state by state, and
// the job script a tracker fronting SLURM writes (slurm/job-script.ts): every word quoted, the
// GPUs and their type as gres, the environment exported but CUDA_VISIBLE_DEVICES left to SLURM.
import { describe, expect, it } from 'vitest';
import { afterExit } from '../src/run/attempt-settle.js';
import { taskOutcome } from '../src/run/task-outcome.js';
import { jobScript, slurmMinutes } from '../src/slurm/job-script.js';
import { outcomeOf } from '../src/slurm/slurm-job.js';
import { parseSacct } from '../src/slurm/job-accounting.js';
import type { ExecuterProcessResult } from '../src/process/executer-process.js';

const empty = { size: 0, sha256: '' };
function settled(
  state: string,
  exitCode = 0,
  signal = 0,
  killedFor: ExecuterProcessResult['killedFor'] = null,
) {
  const result: ExecuterProcessResult = {
    ...outcomeOf('42', { state, exitCode, signal }, killedFor),
    stderrTail: '',
    durationMs: 1,
    logs: { stdout: empty, stderr: empty },
  };
  const exit = afterExit({ leaseLost: false, result, timeLimitMs: 60_000, consumer: 'slurm-front' });
  return exit.kind === 'store' ? taskOutcome(result, 60_000) : exit;
}

describe('a SLURM job’s end', () => {
  it('maps each final state onto the attempt’s end', () => {
    expect(settled('COMPLETED')).toMatchObject({ status: 'succeeded' });
    expect(settled('FAILED', 3)).toMatchObject({ status: 'failed', errorCode: 'EXIT_NONZERO' });
    expect(settled('FAILED', 0, 9)).toMatchObject({ status: 'failed', errorCode: 'KILLED_BY_SIGNAL' });
    expect(settled('CANCELLED')).toMatchObject({ status: 'cancelled', errorCode: 'CANCELLED' });
    expect(settled('TIMEOUT')).toMatchObject({ status: 'timed_out', errorCode: 'TIME_LIMIT' });
    expect(settled('DEADLINE')).toMatchObject({ status: 'timed_out' });
    expect(settled('OUT_OF_MEMORY')).toMatchObject({ status: 'failed', errorCode: 'KILLED_BY_SIGNAL' });
    for (const state of ['NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL']) {
      expect(settled(state)).toEqual({
        kind: 'hand-back',
        reason: `SLURM job 42 ended ${state}; requeued, the attempt not counted`,
      });
    }
    expect(settled('SPECIAL_EXIT')).toMatchObject({ status: 'failed', errorCode: 'SLURM_JOB_FAILED' });
    // The tracker's own kill stands over the state SLURM reports for it.
    expect(settled('CANCELLED', 0, 15, 'timed_out')).toMatchObject({ status: 'timed_out' });
    expect(settled('CANCELLED', 0, 15, 'shutdown')).toMatchObject({ kind: 'hand-back' });
  });

  it('hands the task back when slurmctld no longer knows the job (lost in a crash)', () => {
    expect(outcomeOf('42', null, null)).toMatchObject({
      handBack: 'SLURM job 42 is no longer known to slurmctld; requeued, the attempt not counted',
    });
    // Killed by the tracker meanwhile: its reason stands.
    expect(outcomeOf('42', null, 'cancelled')).toMatchObject({ killedFor: 'cancelled' });
  });
});

describe('the job script', () => {
  it('quotes every word, asks for the GPUs by type, and leaves CUDA_VISIBLE_DEVICES to SLURM', () => {
    const script = jobScript({
      file: 'node',
      args: ['run.mjs', "it's $(rm -rf /)", '--x=1'],
      cwd: '/shared/tasks/t1',
      env: { PATH: '/usr/bin', CUDA_VISIBLE_DEVICES: '0', WEIRD: 'a b"c' },
      stdoutPath: '/shared/tasks/t1/stdout.txt',
      stderrPath: '/shared/tasks/t1/stderr.txt',
      jobName: 'gpufleet-t1',
      gpus: 2,
      gpuModels: ['A100'],
      timeLimitMs: 90_000,
      resources: { partition: 'gpu', mem: '8G' },
    });
    expect(script).toContain('#SBATCH --gres=gpu:a100:2');
    expect(script).toContain(`#SBATCH --time=${slurmMinutes(90_000)}`);
    expect(script).toContain('#SBATCH --partition=gpu');
    expect(script).toContain('#SBATCH --mem=8G');
    expect(script).toContain(`exec 'node' 'run.mjs' 'it'\\''s $(rm -rf /)' '--x=1'`);
    expect(script).toContain(`export WEIRD='a b"c'`);
    expect(script).not.toContain('CUDA_VISIBLE_DEVICES=');
    expect(slurmMinutes(90_000)).toBe(3);
  });
});

describe('a job’s end as SLURM’s accounting gives it (sacct --parsable2, State|ExitCode)', () => {
  it('reads the allocation’s state and exit code, and nothing from an empty answer', () => {
    expect(parseSacct('COMPLETED|0:0\n')).toEqual({ state: 'COMPLETED', exitCode: 0, signal: 0 });
    expect(parseSacct('FAILED|3:0\n')).toEqual({ state: 'FAILED', exitCode: 3, signal: 0 });
    // A cancelled job's state names who cancelled it; the first line is the allocation's.
    expect(parseSacct('CANCELLED by 0|0:15\nCANCELLED|0:15\n')).toEqual({
      state: 'CANCELLED',
      exitCode: 0,
      signal: 15,
    });
    expect(parseSacct('')).toBeNull();
    expect(parseSacct('\n')).toBeNull();
    expect(parseSacct('RUNNING|\n')).toBeNull();
  });
});
