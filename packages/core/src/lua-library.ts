/**
 * A script of lua/ as a Redis function library (Redis 7 `FUNCTION LOAD`). Redis runs an EVAL
 * script's whole chunk at every call, so every helper its libraries define was built again for
 * each call: about 13 µs of lib-common alone, 26 µs for a take's libraries (docs/benchmarks.md).
 * A library's chunk runs once, when it is loaded; each call then runs only the script's body.
 *
 * The library declares `KEYS` and `ARGV` as its own locals, so the included libraries and the
 * body read them as they read the globals in an EVAL; the function sets them from its arguments
 * before it runs the body (and the standard globals the scripts use, `LOCALIZED`, likewise). Redis runs one function at a time, so no call sees another's. The
 * included libraries' other top-level locals are read-only tables and constants: a call leaves
 * nothing behind for the next (core/test/lua-library.test.ts checks the libraries for that).
 */

/** The function's (and its library's) name: `gf_<script>_<first 12 hex digits of its SHA>`. */
export function functionName(script: string, sha: string): string {
  return `gf_${script.replace(/-/g, '_')}_${sha.slice(0, 12)}`;
}

/** Library names this code makes, of any version (to tell them from other applications'). */
export const FUNCTION_NAME_PATTERN = /^gf_[a-z_]+_[0-9a-f]{12}$/;

/**
 * The standard globals the scripts use, made locals of the library: in a Redis function each read
 * of a global goes through the sandbox's metatable, about 80 ns more than in an EVAL, and the
 * take reads thousands with many tenants. The library's top level cannot read them when it is
 * loaded (`math` is not there then), so each call sets them first, from a function that reads them.
 */
const LOCALIZED = [
  'redis',
  'math',
  'string',
  'table',
  'tonumber',
  'tostring',
  'ipairs',
  'next',
  'unpack',
  'error',
];

/**
 * The library code for function `fn`: the `libs` at the top level (run once at load), then `body`
 * (the script without its include lines) as the function.
 */
export function libraryCode(fn: string, libs: readonly string[], body: string): string {
  const globals = LOCALIZED.join(', ');
  return [
    `#!lua name=${fn}`,
    'local register = redis.register_function',
    `local function globals() return ${globals} end`,
    `local ${globals}`,
    'local KEYS, ARGV',
    ...libs,
    'local function body()',
    body,
    'end',
    `register('${fn}', function(keys, args)`,
    `  ${globals} = globals()`,
    '  KEYS, ARGV = keys, args',
    '  return body()',
    'end)',
    '',
  ].join('\n');
}
