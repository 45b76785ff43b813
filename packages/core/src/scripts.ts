/**
 * The Lua scripts of `packages/core/lua/`, loaded once, run by SHA with a fallback to the source
 * when Redis has not seen them (after a restart or FLUSHALL/SCRIPT FLUSH).
 * A line `-- @include NAME` is replaced by `lua/NAME.lua` (itself expanded the same way), and a
 * line `-- @generated NAME` by the Lua that `GENERATED[NAME]` builds from a TypeScript definition
 * (so that definition stays the one source of truth).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { ArgvHead } from './protocol/argv-head.js';
import { waitClassLua, waitSetKeyLua } from './keys.js';
import { waitingKindsLua } from './scheduling-order.js';
import { taskFailuresLua } from './task-failures.js';
import { taskStatusesLua } from './task-status.js';

export const SCRIPT_NAMES = [
  'enqueue',
  'take',
  'renew',
  'set-status',
  'complete',
  'dead-letter-queued',
  'cancel',
  'release',
  'settle',
  'orphan',
  'promote-delayed',
  'set-priority',
  'index-waiting',
  'preempt',
  'forget',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface LuaScript {
  name: ScriptName;
  source: string;
  sha: string;
}

/** The Lua generated from TypeScript definitions, by the name a `-- @generated NAME` line gives. */
const GENERATED: Readonly<Record<string, () => string>> = {
  'task-statuses': taskStatusesLua,
  'waiting-kinds': waitingKindsLua,
  'task-failures': taskFailuresLua,
  'wait-set-key': waitSetKeyLua,
  'wait-class': waitClassLua,
};

const LUA_DIR = new URL('../lua/', import.meta.url);
const cache = new Map<ScriptName, LuaScript>();

function readLua(name: string): string {
  return readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8');
}

function expand(source: string): string {
  return source
    .replace(/^-- @include ([a-z-]+)$/gm, (_line, lib: string) => expand(readLua(lib)))
    .replace(/^-- @generated ([a-z-]+)$/gm, (_line, name: string) => {
      const generate = GENERATED[name];
      if (!generate) throw new Error(`lua: no generator for "-- @generated ${name}"`);
      return generate();
    });
}

/**
 * The Lua a `-- @generated NAME` line becomes (for a benchmark that loads scripts of its own, such
 * as the protocol before the wait sets in bench/lib/baseline-lua/).
 */
export function generatedLua(name: string): string {
  const generate = GENERATED[name];
  if (!generate) throw new Error(`lua: no generator for "-- @generated ${name}"`);
  return generate();
}

/** A library of lua/ (`lib-common`) as the scripts include it, generated parts filled in (for tests). */
export function luaLib(name: string): string {
  return expand(readLua(name));
}

export function luaScript(name: ScriptName): LuaScript {
  let script = cache.get(name);
  if (!script) {
    const source = expand(readLua(name));
    script = { name, source, sha: createHash('sha1').update(source).digest('hex') };
    cache.set(name, script);
  }
  return script;
}

export type ScriptArg = string | number;

/**
 * Runs a script by SHA (loads it by source when Redis answers NOSCRIPT) with ARGV = the head
 * (`argvHead`, the same for every script) followed by the script's own `args`.
 */
export async function runScript(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  head: ArgvHead,
  args: readonly ScriptArg[],
): Promise<unknown> {
  const script = luaScript(name);
  const argv = [...head, ...args];
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...argv);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
      return redis.eval(script.source, keys.length, ...keys, ...argv);
    }
    throw error;
  }
}

/** Flattens `{a: 1, b: 'x'}` into `['a', '1', 'b', 'x']`, skipping undefined values. */
export function fieldArgs(fields: Record<string, string | number | boolean | undefined | null>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out.push(key, value === null ? '' : String(value));
  }
  return out;
}
