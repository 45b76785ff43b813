/**
 * Runs a script of lua/ as its Redis function (lua-library.ts): FCALL, and when Redis does not
 * know the function (a new version, a restart without persistence, FUNCTION FLUSH) loads its
 * library and calls again. Functions need Redis 7.0; an older server gets an error that says so.
 */
import type { Redis } from 'ioredis';
import type { ArgvHead } from './protocol/argv-head.js';
import { luaScript, SCRIPT_NAMES, type ScriptName } from './scripts.js';

export type ScriptArg = string | number;

/** The error for a server without Redis functions (before 7.0). */
export const NEEDS_REDIS_7 = 'gpufleet needs Redis 7.0 or newer (it runs its scripts as Redis functions)';

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Throws the Redis 7 error when `text` is a server's answer to a command it lacks (FCALL, FUNCTION). */
function throwIfNoFunctions(text: string): void {
  if (/unknown (sub)?command/i.test(text)) throw new Error(`${NEEDS_REDIS_7}; the server said: ${text}`);
}

/** Loads under way per connection, so that a burst of calls that all missed loads once. */
const loading = new WeakMap<Redis, Map<ScriptName, Promise<void>>>();

/** Loads the library of `name`; another process that loaded it first is as good. */
export function loadScript(redis: Redis, name: ScriptName): Promise<void> {
  let mine = loading.get(redis);
  if (!mine) loading.set(redis, (mine = new Map()));
  const under = mine.get(name);
  if (under) return under;
  const load = loadOnce(redis, name).finally(() => mine.delete(name));
  mine.set(name, load);
  return load;
}

async function loadOnce(redis: Redis, name: ScriptName): Promise<void> {
  try {
    await redis.function('LOAD', luaScript(name).library);
  } catch (error) {
    const text = message(error);
    if (/already exists/i.test(text)) return;
    throwIfNoFunctions(text);
    throw error;
  }
}

/**
 * Runs script `name` with ARGV = the head (`argvHead`, the same for every script) followed by the
 * script's own `args`.
 */
export async function runScript(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  head: ArgvHead,
  args: readonly ScriptArg[],
): Promise<unknown> {
  const { fn } = luaScript(name);
  const argv = [...head, ...args];
  try {
    return await redis.fcall(fn, keys.length, ...keys, ...argv);
  } catch (error) {
    const text = message(error);
    throwIfNoFunctions(text);
    if (!/function not found/i.test(text)) throw error;
    await loadScript(redis, name);
    return redis.fcall(fn, keys.length, ...keys, ...argv);
  }
}

/**
 * Loads every script's library that Redis lacks (a process at start: its first calls then find
 * their functions, and no call answers "Function not found").
 */
export async function loadScripts(redis: Redis): Promise<void> {
  const loaded = new Set(await listLibraries(redis));
  await Promise.all(
    SCRIPT_NAMES.filter((name) => !loaded.has(luaScript(name).fn)).map((name) => loadScript(redis, name)),
  );
}

/** The names of the function libraries in Redis whose names start `gf_` (this code's and others'). */
export async function listLibraries(redis: Redis): Promise<string[]> {
  let listed: unknown[][];
  try {
    listed = (await redis.function('LIST', 'LIBRARYNAME', 'gf_*')) as unknown[][];
  } catch (error) {
    throwIfNoFunctions(message(error));
    throw error;
  }
  return listed.map((library) => String(library[library.indexOf('library_name') + 1]));
}
