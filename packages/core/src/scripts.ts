/**
 * The Lua scripts of `packages/core/lua/`, loaded once, run by SHA with a fallback to the source
 * when Redis has not seen them (after a restart or FLUSHALL/SCRIPT FLUSH).
 * A line `-- @include NAME` is replaced by `lua/NAME.lua`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

export const SCRIPT_NAMES = [
  'enqueue',
  'take',
  'claim',
  'claim-read',
  'renew',
  'set-status',
  'complete',
  'dead-letter-queued',
  'cancel',
  'release',
  'settle',
  'orphan',
  'promote-delayed',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface LuaScript {
  name: ScriptName;
  source: string;
  sha: string;
}

const LUA_DIR = new URL('../lua/', import.meta.url);
const cache = new Map<ScriptName, LuaScript>();

function readLua(name: string): string {
  return readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8');
}

export function luaScript(name: ScriptName): LuaScript {
  let script = cache.get(name);
  if (!script) {
    const source = readLua(name).replace(/^-- @include ([a-z-]+)$/m, (_line, lib: string) => readLua(lib));
    script = { name, source, sha: createHash('sha1').update(source).digest('hex') };
    cache.set(name, script);
  }
  return script;
}

export type ScriptArg = string | number;

/** Runs a script by SHA; loads it by source when Redis answers NOSCRIPT. */
export async function runScript(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  const script = luaScript(name);
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
      return redis.eval(script.source, keys.length, ...keys, ...args);
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
