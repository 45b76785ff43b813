/**
 * The Lua scripts of `packages/core/lua/` and their sources as Redis runs them: each script is a
 * Redis function in a library of its own (redis-functions.ts builds, loads and calls it).
 * A line `-- @include NAME` is replaced by `lua/NAME.lua` (itself expanded the same way), and a
 * line `-- @generated NAME` by the Lua that `GENERATED[NAME]` builds from a TypeScript definition
 * (so that definition stays the one source of truth).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { waitClassLua, waitSetKeyLua } from './keys.js';
import { waitingKindsLua } from './scheduling-order.js';
import { taskFailuresLua } from './task-failures.js';
import { serviceFieldsLua } from './service-state.js';
import { taskStatusesLua } from './task-status.js';
import { functionName, libraryCode } from './lua-library.js';

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
  'set-service',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface LuaScript {
  name: ScriptName;
  /** The script as one Lua chunk (KEYS and ARGV its globals), as EVAL would run it. */
  source: string;
  sha: string;
  /** The Redis function that runs it, named after the script and its SHA (one per version). */
  fn: string;
  /** The library `FUNCTION LOAD` takes for `fn` (redis-functions.ts `libraryCode`). */
  library: string;
}

/** The Lua generated from TypeScript definitions, by the name a `-- @generated NAME` line gives. */
const GENERATED: Readonly<Record<string, () => string>> = {
  'task-statuses': taskStatusesLua,
  'waiting-kinds': waitingKindsLua,
  'task-failures': taskFailuresLua,
  'wait-set-key': waitSetKeyLua,
  'wait-class': waitClassLua,
  'service-fields': serviceFieldsLua,
};

const LUA_DIR = new URL('../lua/', import.meta.url);
const cache = new Map<ScriptName, LuaScript>();
const INCLUDE = /^-- @include ([a-z-]+)$/gm;

function readLua(name: string): string {
  return readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8');
}

function expand(source: string): string {
  return source
    .replace(INCLUDE, (_line, lib: string) => expand(readLua(lib)))
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

/** The libraries a script's own `-- @include` lines name, in order. */
function libsOf(raw: string): string[] {
  return [...raw.matchAll(INCLUDE)].map((m) => m[1] as string);
}

function withoutIncludes(raw: string): string {
  return raw.replace(INCLUDE, '');
}

/** A library of lua/ (`lib-common`) as the scripts include it, generated parts filled in (for tests). */
export function luaLib(name: string): string {
  return expand(readLua(name));
}

export function luaScript(name: ScriptName): LuaScript {
  let script = cache.get(name);
  if (!script) {
    const raw = readLua(name);
    const source = expand(raw);
    const sha = createHash('sha1').update(source).digest('hex');
    const fn = functionName(name, sha);
    script = {
      name,
      source,
      sha,
      fn,
      library: libraryCode(fn, libsOf(raw).map(luaLib), expand(withoutIncludes(raw))),
    };
    cache.set(name, script);
  }
  return script;
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
