/**
 * A profile's `slurm` settings, with SLURM's own names, checked as sbatch would check them so that
 * a value it would refuse is refused here, naming the field, before anything is submitted:
 *
 *   "slurm": { "time": "1-02:00:00", "partition": "gpu", "account": "lab", "mem": "64G",
 *              "cpus-per-task": 8, "gres": "gpu:a100:2" }
 *
 * `time` (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS) becomes the task's time limit and
 * `gres` (`gpu`, `gpu:N`, `gpu:TYPE` or `gpu:TYPE:N`) its GPUs and GPU model; partition, account,
 * mem and cpus-per-task go into the task spec's `slurm`, which a SLURM-backend tracker asks of
 * SLURM. The tracker checks its own SLURM settings (tracker/src/slurm/slurm-values.ts); the client
 * does not depend on it, hence this small parser of the same formats.
 */
import type { FieldIssue } from '../errors.js';

export const SLURM_KEYS = ['time', 'partition', 'account', 'mem', 'cpus-per-task', 'gres'];

/** The task spec's `slurm`: what a SLURM-backend tracker asks of SLURM beside GPUs and time. */
export interface SlurmResources {
  partition?: string;
  account?: string;
  mem?: string;
  cpusPerTask?: number;
}

/** GPUs of a gres (`gpu:a100:2` → 2 of type a100). */
export interface GpuGres {
  gpus: number;
  type?: string;
}

export interface SlurmProfile {
  /** From `time`. */
  timeLimitMs?: number;
  /** From `gres`. */
  gres?: GpuGres;
  /** The other settings given. */
  resources: SlurmResources;
}

/** The longest time limit the API takes (30 days). */
const MAX_TIME_LIMIT_MS = 30 * 86_400_000;
const GRES_MAX_GPUS = 64;
/** Partition and account names, as the task spec's `slurm` takes them. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MEM = /^[1-9][0-9]{0,9}[KMGT]?$/;
const GPU_TYPE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const TIME = /^(?:(\d+)-(\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?|(\d+)(?::(\d{1,2})(?::(\d{1,2}))?)?)$/;

const TIME_FORMATS = 'minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS';
const GRES_FORMATS = 'gpu, gpu:N, gpu:TYPE or gpu:TYPE:N';

/**
 * A SLURM time limit in milliseconds, or null when `text` is not one. Past the leading number,
 * hours are below 24 and minutes and seconds below 60.
 */
export function parseSlurmTime(text: string): number | null {
  const m = TIME.exec(text.trim());
  if (!m) return null;
  const n = (v: string | undefined): number => (v === undefined ? 0 : Number(v));
  let seconds: number;
  let below: Array<[string | undefined, number]>;
  if (m[1] !== undefined) {
    seconds = n(m[1]) * 86_400 + n(m[2]) * 3600 + n(m[3]) * 60 + n(m[4]);
    below = [
      [m[2], 24],
      [m[3], 60],
      [m[4], 60],
    ];
  } else if (m[7] !== undefined) {
    seconds = n(m[5]) * 3600 + n(m[6]) * 60 + n(m[7]);
    below = [
      [m[6], 60],
      [m[7], 60],
    ];
  } else if (m[6] !== undefined) {
    seconds = n(m[5]) * 60 + n(m[6]);
    below = [[m[6], 60]];
  } else {
    seconds = n(m[5]) * 60;
    below = [];
  }
  if (below.some(([v, limit]) => v !== undefined && n(v) >= limit)) return null;
  return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : null;
}

/** The GPUs of a gres, or why it is not one the fleet can give. */
export function parseGres(text: string): { gres: GpuGres } | { problem: string } {
  const parts = text.trim().split(':');
  const name = parts[0] ?? '';
  if (name !== 'gpu' || text.includes(',')) {
    const names = text.split(',').map((g) => g.split(':')[0]);
    const other = names.find((g) => g !== 'gpu') ?? name;
    return {
      problem:
        other !== 'gpu' && /^[A-Za-z][A-Za-z0-9_]*$/.test(other)
          ? `the fleet schedules only GPUs: it cannot give gres "${other}" (use ${GRES_FORMATS})`
          : `must be one GPU gres: ${GRES_FORMATS} (got ${JSON.stringify(text)})`,
    };
  }
  const bad = {
    problem: `must be ${GRES_FORMATS}, N from 1 to ${GRES_MAX_GPUS} (got ${JSON.stringify(text)})`,
  };
  if (parts.length > 3) return bad;
  const [, second, third] = parts;
  const type = parts.length === 3 || (second !== undefined && !/^\d+$/.test(second)) ? second : undefined;
  const count = parts.length === 3 ? third : type === undefined ? second : undefined;
  if (type !== undefined && !GPU_TYPE.test(type)) return bad;
  if (count === undefined) return { gres: { gpus: 1, ...(type !== undefined && { type }) } };
  const gpus = Number(count);
  if (!/^\d+$/.test(count) || gpus < 1 || gpus > GRES_MAX_GPUS)
    return {
      problem: `asks for ${JSON.stringify(count)} GPUs: N must be a whole number from 1 to ${GRES_MAX_GPUS}`,
    };
  return { gres: { gpus, ...(type !== undefined && { type }) } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A profile's `slurm` object; each bad setting is an issue under `field` (`profiles.big.slurm`). */
export function checkSlurm(raw: unknown, field: string, issues: FieldIssue[]): SlurmProfile {
  const result: SlurmProfile = { resources: {} };
  const bad = (key: string, reason: string): void => void issues.push({ field: `${field}.${key}`, reason });
  if (!isObject(raw)) {
    issues.push({ field, reason: `must be an object of SLURM settings (${SLURM_KEYS.join(', ')})` });
    return result;
  }
  for (const key of Object.keys(raw)) {
    if (!SLURM_KEYS.includes(key)) bad(key, `unknown SLURM setting (known: ${SLURM_KEYS.join(', ')})`);
  }
  const { time, partition, account, mem, gres } = raw;
  const cpus = raw['cpus-per-task'];
  if (time !== undefined) {
    // A bare number is minutes, as sbatch --time reads it.
    const ms =
      typeof time === 'string'
        ? parseSlurmTime(time)
        : Number.isSafeInteger(time)
          ? (time as number) * 60_000
          : null;
    if (ms === null || ms < 1000)
      bad('time', `must be a SLURM time of at least 1 second: ${TIME_FORMATS} (got ${JSON.stringify(time)})`);
    else if (ms > MAX_TIME_LIMIT_MS) bad('time', `must be at most 30 days (got ${JSON.stringify(time)})`);
    else result.timeLimitMs = ms;
  }
  for (const [key, value] of [
    ['partition', partition],
    ['account', account],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value === 'string' && NAME.test(value)) result.resources[key] = value;
    else bad(key, `must be a${key === 'account' ? 'n' : ''} ${key} name: letters, digits, _ . - (up to 64)`);
  }
  if (mem !== undefined) {
    const text = typeof mem === 'number' ? String(mem) : mem;
    if (typeof text === 'string' && MEM.test(text)) result.resources.mem = text;
    else
      bad(
        'mem',
        `must be memory per node as sbatch --mem takes it: 16G, 4096M, 4096 (got ${JSON.stringify(mem)})`,
      );
  }
  if (cpus !== undefined) {
    if (Number.isInteger(cpus) && (cpus as number) >= 1 && (cpus as number) <= 4096)
      result.resources.cpusPerTask = cpus as number;
    else bad('cpus-per-task', `must be a whole number from 1 to 4096 (got ${JSON.stringify(cpus)})`);
  }
  if (gres !== undefined) {
    const parsed = typeof gres === 'string' ? parseGres(gres) : { problem: `must be ${GRES_FORMATS}` };
    if ('gres' in parsed) result.gres = parsed.gres;
    else bad('gres', parsed.problem);
  }
  return result;
}
