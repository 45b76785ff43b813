/**
 * SLURM's own formats, checked before anything is submitted, so that a value sbatch would refuse
 * is refused here with the field named: a time (`--time`: minutes, MM:SS, HH:MM:SS, D-HH,
 * D-HH:MM, D-HH:MM:SS), a job array (`--array`: 0-15, 1,3,5, 0-15:4, with `%K` at most K at once),
 * memory (`--mem`: a number with K, M, G or T), a generic resource count (`--gres=gpu[:type]:N`),
 * and the names of partitions and accounts.
 */
import type { FieldIssue } from '@gpufleet/core';

const TIME = /^(?:(\d+)-(\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?|(\d+)(?::(\d{1,2})(?::(\d{1,2}))?)?)$/;

/** A SLURM time limit in seconds; null when `text` is not one. `UNLIMITED`/`INFINITE` give Infinity. */
export function slurmTimeSeconds(text: string): number | null {
  const t = text.trim();
  if (/^(unlimited|infinite)$/i.test(t)) return Infinity;
  const m = TIME.exec(t);
  if (!m) return null;
  const n = (v: string | undefined): number => (v === undefined ? 0 : Number(v));
  if (m[1] !== undefined) return n(m[1]) * 86_400 + n(m[2]) * 3600 + n(m[3]) * 60 + n(m[4]);
  // Without days: M, M:S, H:M:S.
  if (m[7] !== undefined) return n(m[5]) * 3600 + n(m[6]) * 60 + n(m[7]);
  if (m[6] !== undefined) return n(m[5]) * 60 + n(m[6]);
  return n(m[5]) * 60;
}

const ARRAY = /^\d+(?:-\d+(?::\d+)?)?(?:,\d+(?:-\d+(?::\d+)?)?)*(?:%\d+)?$/;
const MEMORY = /^\d+[KMGT]?$/i;
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const GPU_TYPE = /^[A-Za-z0-9_.-]{1,64}$/;

export interface SlurmResources {
  time?: string;
  partition?: string;
  account?: string;
  /** GPUs per job (`--gres=gpu[:type]:N`). */
  gpus?: number;
  /** A GPU type as the cluster's gres.conf names it (`a100`). */
  gpuType?: string;
  mem?: string;
  cpusPerTask?: number;
}

/** What is wrong with `r`, each problem naming its field under `prefix` (`profiles.big.resources.`). */
export function slurmResourceIssues(r: SlurmResources, prefix = ''): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const bad = (field: string, reason: string): void => void issues.push({ field: prefix + field, reason });
  if (r.time !== undefined && slurmTimeSeconds(r.time) === null)
    bad(
      'time',
      `must be a SLURM time: minutes, MM:SS, HH:MM:SS or D-HH[:MM[:SS]] (got ${JSON.stringify(r.time)})`,
    );
  if (r.partition !== undefined && !NAME.test(r.partition))
    bad('partition', 'must be a partition name (letters, digits, _ . -)');
  if (r.account !== undefined && !NAME.test(r.account))
    bad('account', 'must be an account name (letters, digits, _ . -)');
  if (r.gpus !== undefined && !(Number.isInteger(r.gpus) && r.gpus >= 0 && r.gpus <= 64))
    bad('gpus', `must be a whole number from 0 to 64 (got ${JSON.stringify(r.gpus)})`);
  if (r.gpuType !== undefined && !GPU_TYPE.test(r.gpuType))
    bad('gpuType', 'must be a GPU type as gres.conf names it (letters, digits, _ . -)');
  if (r.gpuType !== undefined && !r.gpus) bad('gpuType', 'needs gpus of 1 or more');
  if (r.mem !== undefined && !MEMORY.test(r.mem))
    bad('mem', `must be a size such as 16G or 4096M (got ${JSON.stringify(r.mem)})`);
  if (
    r.cpusPerTask !== undefined &&
    !(Number.isInteger(r.cpusPerTask) && r.cpusPerTask >= 1 && r.cpusPerTask <= 4096)
  )
    bad('cpusPerTask', `must be a whole number from 1 (got ${JSON.stringify(r.cpusPerTask)})`);
  return issues;
}

/** Why `text` is not a job array spec, or null. */
export function arrayProblem(text: string): string | null {
  return ARRAY.test(text)
    ? null
    : `must be a SLURM job array such as 0-3, 1,3,5 or 0-15%4 (got ${JSON.stringify(text)})`;
}

/** The `#SBATCH` lines for the resources (already checked). */
export function resourceDirectives(r: SlurmResources): string[] {
  const lines: string[] = [];
  if (r.time !== undefined) lines.push(`--time=${r.time}`);
  if (r.partition !== undefined) lines.push(`--partition=${r.partition}`);
  if (r.account !== undefined) lines.push(`--account=${r.account}`);
  if (r.gpus) lines.push(`--gres=gpu:${r.gpuType ? `${r.gpuType}:` : ''}${r.gpus}`);
  if (r.mem !== undefined) lines.push(`--mem=${r.mem}`);
  if (r.cpusPerTask !== undefined) lines.push(`--cpus-per-task=${r.cpusPerTask}`);
  return lines;
}
