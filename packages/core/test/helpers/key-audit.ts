// A key audit for the Lua scripts: each script runs with `redis.call` wrapped so that every key a
// command touches (as Redis itself names it: COMMAND GETKEYS) must be declared in KEYS, or, for
// the scripts allowed the keys.ts template exception, be a key one of the given templates names for
// some id (an entry without the slot marker is one key, allowed as it is). An undeclared key fails
// the call with UNDECLARED_KEY_AUDIT.
import type { Redis } from 'ioredis';
import { KEY_SLOT, luaScript, SCRIPT_NAMES, type ScriptName } from '@gpufleet/core';

/** Lua string literal. */
const lit = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The Lua put before a script's source: `redis` shadowed by one whose call and pcall audit keys. */
export function auditPrelude(templates: readonly string[]): string {
  const exact = templates.filter((t) => !t.includes(KEY_SLOT));
  const pairs = templates
    .filter((t) => t.includes(KEY_SLOT))
    .map((t) => {
      const slot = t.lastIndexOf(KEY_SLOT);
      // A wait set's name (keys.ts waitSetName) holds ':'; an id or a tracker name does not.
      const name = t.slice(0, slot).endsWith(':wait:') ? '^%d+:%d+:[rw]:[%w][%w_.-]*$' : '^[%w][%w_.-]*$';
      return `{ ${lit(t.slice(0, slot))}, ${lit(t.slice(slot + 1))}, ${lit(name)} }`;
    });
  return `
local realRedis = redis
local declared = {}
for _, k in ipairs(KEYS) do declared[k] = true end
for _, k in ipairs({ ${exact.map(lit).join(', ')} }) do declared[k] = true end
local templates = { ${pairs.join(', ')} }
local function allowed(key)
  if declared[key] then return true end
  for _, t in ipairs(templates) do
    local head, tail, pattern = t[1], t[2], t[3]
    if #key > #head + #tail and string.sub(key, 1, #head) == head and (tail == '' or string.sub(key, -#tail) == tail) then
      local id = string.sub(key, #head + 1, #key - #tail)
      if string.find(id, pattern) then return true end
    end
  end
  return false
end
local function audit(...)
  local ok, keys = pcall(realRedis.call, 'COMMAND', 'GETKEYS', ...)
  if not ok then return end
  for _, key in ipairs(keys) do
    if not allowed(key) then
      error({ err = 'UNDECLARED_KEY_AUDIT ' .. tostring((...)) .. ' touches ' .. key })
    end
  end
end
local redis = setmetatable({
  call = function(...) audit(...) return realRedis.call(...) end,
  pcall = function(...) audit(...) return realRedis.pcall(...) end,
}, { __index = realRedis })
`;
}

/**
 * Makes `client` run every script of lua/ audited (EVAL of prelude + source instead of its FCALL);
 * `templates(name)` gives the key templates that script may fill. Returns the names of the
 * scripts run so far.
 */
export function auditScripts(
  client: Redis,
  templates: (name: ScriptName) => readonly string[],
): Set<ScriptName> {
  const byFunction = new Map(SCRIPT_NAMES.map((name) => [luaScript(name).fn, name]));
  const ran = new Set<ScriptName>();
  const evalSource = client.eval.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const patched = client as unknown as { fcall: (...args: unknown[]) => Promise<unknown> };
  patched.fcall = (fn, ...rest) => {
    const name = byFunction.get(String(fn));
    if (!name) throw new Error(`not a script of lua/: ${String(fn)}`);
    ran.add(name);
    return evalSource(auditPrelude(templates(name)) + luaScript(name).source, ...rest);
  };
  return ran;
}
