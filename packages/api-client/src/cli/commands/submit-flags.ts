/**
 * The flags of `gpufleet submit` (commands/submit.ts) and the checks of how they combine, made
 * before anything is submitted.
 */
import { UsageError } from '../../errors.js';

export interface SubmitFlags {
  param: string[];
  paramsFile?: string;
  input: string[];
  gpus?: number;
  timeout?: number;
  retries?: number;
  queue?: string;
  runs: number;
  sweep: string[];
  wait?: boolean;
  follow?: boolean;
  download?: string;
  idempotencyKey?: string;
  name?: string;
  tag: string[];
  priority?: number;
  preemptible?: boolean;
  gpuModel: string[];
  gpuMemory?: number;
  gpuShare?: number;
  waitForCapacity?: boolean;
  waitReady?: boolean;
  readyTimeout?: number;
  envSetup?: string;
  profile?: string;
  chain?: boolean;
  after?: string;
}

/** `--wait-ready` waits for a service to be ready, not for an end: the options that wait for one conflict. */
function checkWaitReady(flags: SubmitFlags): void {
  if (flags.readyTimeout !== undefined && !flags.waitReady)
    throw new UsageError('--ready-timeout is how long --wait-ready waits: give --wait-ready too');
  const conflicts = [
    flags.wait && '--wait',
    flags.follow && '--follow',
    flags.download !== undefined && '--download',
  ].filter(Boolean);
  if (flags.waitReady && conflicts.length > 0)
    throw new UsageError(
      `--wait-ready cannot be combined with ${conflicts.join(' or ')}: it waits until a service is ready, they until the task ends`,
    );
}

const TASK_ID = /^[0-9a-hjkmnp-tv-z]{26}$/;

export function checkSubmitFlags(flags: SubmitFlags): void {
  checkWaitReady(flags);
  if (flags.after !== undefined && !TASK_ID.test(flags.after))
    throw new UsageError(
      `--after must be a task id (26 characters, as submit prints them), not "${flags.after}"`,
    );
}
