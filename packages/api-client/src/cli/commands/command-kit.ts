/**
 * Helpers for defining commands: repeatable options, integer, priority, memory size and duration arguments (a
 * bad value is a usage error, exit 2), and `run`, which turns a command function into a commander action:
 * it opens the context from the global flags and records the exit code the function returns.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { PRIORITY_MAX, PRIORITY_MIN } from '../../generated/api-types.js';
import { parseDuration } from '../../profiles/duration.js';
import { parseMemorySizeMiB } from '../../profiles/memory-size.js';
import { openContext, type CliContext, type CliRuntime, type GlobalFlags } from '../cli-context.js';

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function intArg(flag: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} wants a whole number of at least ${min}`);
    }
    return n;
  };
}

/** A task priority: a whole number in the API's range, checked before anything is sent. */
export function priorityArg(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < PRIORITY_MIN || n > PRIORITY_MAX) {
      throw new InvalidArgumentError(
        `${name} wants a whole number from ${PRIORITY_MIN} to ${PRIORITY_MAX} (higher starts first)`,
      );
    }
    return n;
  };
}

/** A GPU memory size with its unit (profiles/memory-size.ts), in MiB. */
export function memorySizeArg(flag: string): (value: string) => number {
  return (value) => {
    const mib = parseMemorySizeMiB(value);
    if (mib === null)
      throw new InvalidArgumentError(
        `${flag} wants a size with its unit: 40GB, 80GiB or 24576MiB (GB = 10^9 bytes, GiB = 2^30)`,
      );
    return mib;
  };
}

export function durationArg(flag: string): (value: string) => number {
  return (value) => {
    const ms = parseDuration(value);
    if (ms === null) throw new InvalidArgumentError(`${flag} wants a duration such as 90s, 10m or 2h`);
    return ms;
  };
}

// Commander hands an action its arguments, then the options object, then the command.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CommandFn = (ctx: CliContext, ...args: any[]) => Promise<number>;
export type CommandRunner = (fn: CommandFn) => (...args: unknown[]) => Promise<void>;

export function commandRunner(runtime: CliRuntime): CommandRunner {
  return (fn) =>
    async (...args) => {
      const command = args.at(-1) as Command;
      const ctx = await openContext(runtime, command.optsWithGlobals<GlobalFlags>());
      runtime.exitCode = await fn(ctx, ...args.slice(0, -1));
    };
}
