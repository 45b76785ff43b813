// A profile's `slurm` settings as sbatch reads them: SLURM's time formats (to milliseconds), the
// GPU gres (to a GPU count and model) and the refusal of any other gres, and every bad or unknown
// setting named under its field at once.
import { describe, expect, it } from 'vitest';
import type { FieldIssue } from '@gpufleet/api-client';
import { checkSlurm, parseGres, parseSlurmTime } from '../src/profiles/slurm-profile.js';

describe('parseSlurmTime', () => {
  it('reads minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM and D-HH:MM:SS', () => {
    expect(parseSlurmTime('90')).toBe(90 * 60_000);
    expect(parseSlurmTime('5:30')).toBe(330_000);
    expect(parseSlurmTime('0:30')).toBe(30_000);
    expect(parseSlurmTime('48:00:00')).toBe(48 * 3_600_000);
    expect(parseSlurmTime('1-02')).toBe(26 * 3_600_000);
    expect(parseSlurmTime('1-02:30')).toBe(26.5 * 3_600_000);
    expect(parseSlurmTime('2-00:00:10')).toBe(2 * 86_400_000 + 10_000);
  });

  it('refuses what sbatch would not read', () => {
    for (const bad of ['', '1h', '10:75', '1-24', '1-2:3:4:5', '1:2:3:4', '-5', '1.5', 'UNLIMITED', '1-']) {
      expect(parseSlurmTime(bad), bad).toBeNull();
    }
  });
});

describe('parseGres', () => {
  it('reads gpu, gpu:N, gpu:TYPE and gpu:TYPE:N', () => {
    expect(parseGres('gpu')).toEqual({ gres: { gpus: 1 } });
    expect(parseGres('gpu:4')).toEqual({ gres: { gpus: 4 } });
    expect(parseGres('gpu:a100')).toEqual({ gres: { gpus: 1, type: 'a100' } });
    expect(parseGres('gpu:h100_80g:8')).toEqual({ gres: { gpus: 8, type: 'h100_80g' } });
  });

  it('refuses a count of 0 or over 64, extra parts, and any gres but GPUs', () => {
    for (const bad of ['gpu:0', 'gpu:a100:0', 'gpu:65', 'gpu:a100:x']) {
      expect(parseGres(bad)).toEqual({
        problem: expect.stringMatching(/N must be a whole number from 1 to 64/),
      });
    }
    for (const bad of ['gpu:x:y:z', 'gpu::2', 'gpu:', 'gpu:-1']) {
      expect(parseGres(bad)).toEqual({ problem: expect.stringMatching(/must be gpu, gpu:N/) });
    }
    for (const bad of ['mps:1', 'shard:2', 'gpu:2,mps:100']) {
      expect(parseGres(bad)).toEqual({ problem: expect.stringMatching(/the fleet schedules only GPUs/) });
    }
  });
});

describe('checkSlurm', () => {
  it('gives the time limit, the GPUs and the resources the task spec takes', () => {
    const issues: FieldIssue[] = [];
    const s = checkSlurm(
      {
        time: '1-00',
        partition: 'gpu',
        account: 'lab.a',
        mem: '64G',
        'cpus-per-task': 8,
        gres: 'gpu:a100:2',
      },
      'profiles.big.slurm',
      issues,
    );
    expect(issues).toEqual([]);
    expect(s).toEqual({
      timeLimitMs: 86_400_000,
      gres: { gpus: 2, type: 'a100' },
      resources: { partition: 'gpu', account: 'lab.a', mem: '64G', cpusPerTask: 8 },
    });
    expect(checkSlurm({ time: 30, mem: 4096 }, 'slurm', issues)).toEqual({
      timeLimitMs: 1_800_000,
      resources: { mem: '4096' },
    });
    expect(issues).toEqual([]);
  });

  it('names every bad or unknown setting, and lists the known ones', () => {
    const issues: FieldIssue[] = [];
    checkSlurm(
      {
        time: '0',
        partition: 'a b',
        account: '',
        mem: '16GB',
        'cpus-per-task': 0,
        gres: 'mps:1',
        nodes: 2,
        cpusPerTask: 4,
      },
      'profiles.big.slurm',
      issues,
    );
    expect(issues.map((i) => i.field)).toEqual([
      'profiles.big.slurm.nodes',
      'profiles.big.slurm.cpusPerTask',
      'profiles.big.slurm.time',
      'profiles.big.slurm.partition',
      'profiles.big.slurm.account',
      'profiles.big.slurm.mem',
      'profiles.big.slurm.cpus-per-task',
      'profiles.big.slurm.gres',
    ]);
    expect(issues[0]?.reason).toBe(
      'unknown SLURM setting (known: time, partition, account, mem, cpus-per-task, gres)',
    );
    const late: FieldIssue[] = [];
    checkSlurm({ time: '31-00' }, 'slurm', late);
    expect(late).toEqual([{ field: 'slurm.time', reason: 'must be at most 30 days (got "31-00")' }]);
    const notObject: FieldIssue[] = [];
    checkSlurm('gpu:1', 'profiles.x.slurm', notObject);
    expect(notObject[0]?.field).toBe('profiles.x.slurm');
  });
});
