/**
 * Process identity on Linux: a pid alone can be reused, so a process is named by its pid and its
 * start time (field 22 of /proc/<pid>/stat, clock ticks since boot). Elsewhere start times are
 * unknown (null) and callers must not kill by pid alone.
 */
import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/<pid>/stat from field 3 (the state) on, so field n is at index n - 3; null
 * when there is no such process (or no /proc).
 */
export function procStatFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

export function processStartTime(pid: number): string | null {
  return procStatFields(pid)?.[19] ?? null;
}

/** True when a process with this pid exists and, if `startTime` is given, started then. */
export function isSameProcessAlive(pid: number, startTime: string | null): boolean {
  const current = processStartTime(pid);
  if (current === null) {
    try {
      process.kill(pid, 0);
      return startTime === null;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' && startTime === null;
    }
  }
  return startTime === null || current === startTime;
}

/** Sends `signal` to a whole process group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Whether any process of the group is still alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
