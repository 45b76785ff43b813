/**
 * CPU time from /proc (Linux), in ms: a process's own user+system time, and for this process also
 * the time of its children (the spawned programs): those it has waited for, and those alive now
 * with theirs (the tracker's spawner, gpufleet-task-init, whose programs are its children), so a
 * run can say where the CPU of one task goes: the worker, the programs it ran, and redis-server.
 */
import { readdirSync, readFileSync } from 'node:fs';

function statFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** USER_HZ: 100 on every Linux configuration Node runs on (`getconf CLK_TCK`). */
const TICKS_PER_SECOND = 100;
const ms = (ticks: string | undefined): number => (Number(ticks ?? 0) * 1000) / TICKS_PER_SECOND;

export interface CpuSample {
  /** This process: user + system. */
  selfMs: number;
  selfSysMs: number;
  /** Children this process has reaped, and live ones with their reaped children: user + system. */
  childrenMs: number;
  /** The other process (redis-server) named at sampling. */
  otherMs: number;
}

export function cpuSample(otherPid?: number): CpuSample {
  const f = statFields('self');
  let otherMs = 0;
  if (otherPid !== undefined) {
    const o = statFields(otherPid);
    otherMs = ms(o[11]) + ms(o[12]);
  }
  return {
    selfMs: ms(f[11]) + ms(f[12]),
    selfSysMs: ms(f[12]),
    childrenMs: ms(f[13]) + ms(f[14]) + liveChildrenMs(otherPid),
    otherMs,
  };
}

/** User + system time of this process's live children and of the children they reaped. */
function liveChildrenMs(except?: number): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === except) continue;
    try {
      const f = statFields(pid);
      if (Number(f[1]) === process.pid) total += ms(f[11]) + ms(f[12]) + ms(f[13]) + ms(f[14]);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

export function cpuDelta(before: CpuSample, after: CpuSample): CpuSample {
  return {
    selfMs: after.selfMs - before.selfMs,
    selfSysMs: after.selfSysMs - before.selfSysMs,
    childrenMs: after.childrenMs - before.childrenMs,
    otherMs: after.otherMs - before.otherMs,
  };
}

/** Resident memory of a process, from /proc/<pid>/status: now (VmRSS) and peak (VmHWM), bytes. */
export function memoryOf(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** Whether a process exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const state = statFields(pid)[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Whether any live (non-zombie) process belongs to process group `pgid`. */
export function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = statFields(Number(entry));
      if (Number(f[2]) === pgid && f[0] !== 'Z' && f[0] !== 'X') return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}
