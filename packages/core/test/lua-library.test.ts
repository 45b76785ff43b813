// The scripts as Redis function libraries (lua-library.ts, run-script.ts, function-versions.ts),
// against a real Redis: every library loads, a call after FUNCTION FLUSH loads its library back,
// a server without functions gets an error naming Redis 7, the libraries keep no state from one
// call to the next, and libraries of versions nobody runs any more are deleted.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  announceFunctions,
  enqueue,
  FUNCTION_NAME_PATTERN,
  FUNCTIONS_KEEP_MS,
  loadScript,
  loadScripts,
  luaLib,
  luaScript,
  pruneFunctions,
  SCRIPT_NAMES,
} from '@gpufleet/core';
import { startRedis, useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();
const LUA_DIR = new URL('../lua/', import.meta.url);

async function libraryNames(): Promise<string[]> {
  const listed = (await redis.server.client().function('LIST')) as unknown[][];
  return listed.map((library) => String(library[library.indexOf('library_name') + 1]));
}

describe('scripts as Redis functions', () => {
  it('loads every script as a library holding one function of its name', async () => {
    const client = redis.server.client();
    await client.function('FLUSH');
    for (const name of SCRIPT_NAMES) await loadScript(client, name);
    const names = await libraryNames();
    expect(names.sort()).toEqual(SCRIPT_NAMES.map((name) => luaScript(name).fn).sort());
    for (const name of names) expect(name).toMatch(FUNCTION_NAME_PATTERN);
    await loadScript(client, 'take'); // loaded already: as good as loading it
  });

  it('loads a library back when Redis lost it, and the call goes through', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    await enqueue({ redis: client, prefix }, { executer: 'noop' });
    await client.function('FLUSH');
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    expect(await client.hget(keys.task(id), 'status')).toBe('queued');
    expect(await libraryNames()).toContain(luaScript('enqueue').fn);
  });

  it('loads every library Redis lacks at once (a process at start), so no call misses', async () => {
    const { client, prefix } = await noopQueue(redis.server);
    await client.function('FLUSH');
    await loadScript(client, 'take');
    await client.config('RESETSTAT');
    await loadScripts(client);
    expect((await libraryNames()).sort()).toEqual(SCRIPT_NAMES.map((name) => luaScript(name).fn).sort());
    await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const fcall = /cmdstat_fcall:calls=(\d+),.*failed_calls=(\d+)/.exec(await client.info('commandstats'));
    expect([fcall?.[1], fcall?.[2]]).toEqual(['1', '0']); // the enqueue found its function
    // One load per library it lacked: take was there.
    const loads = /cmdstat_function\|load:calls=(\d+)/.exec(await client.info('commandstats'));
    expect(Number(loads?.[1])).toBe(SCRIPT_NAMES.length - 1);
  });

  it('loads a lost library once for a burst of calls that all missed it', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    await client.function('FLUSH');
    await client.config('RESETSTAT');
    const ids = await Promise.all(
      Array.from(
        { length: 50 },
        async () => (await enqueue({ redis: client, prefix }, { executer: 'noop' })).id,
      ),
    );
    expect(await client.zcard(keys.index)).toBe(50);
    expect(new Set(ids).size).toBe(50);
    const loads = /cmdstat_function\|load:calls=(\d+)/.exec(await client.info('commandstats'));
    expect(Number(loads?.[1])).toBe(1);
  });

  it('names Redis 7 when the server has no functions', async () => {
    const old = await startRedis({ extraArgs: ['--rename-command', 'FCALL', '""'] });
    try {
      const { client, prefix } = await noopQueue(old);
      await expect(enqueue({ redis: client, prefix }, { executer: 'noop' })).rejects.toThrow(
        /needs Redis 7\.0 or newer.*unknown command/,
      );
    } finally {
      await old.stop();
    }
  });

  it('keeps no state between calls: no top-level local of a library is ever assigned again', () => {
    const libs = readdirSync(LUA_DIR)
      .filter((f) => f.startsWith('lib-') && f.endsWith('.lua'))
      .map((f) => luaLib(f.slice(0, -'.lua'.length)));
    const source = SCRIPT_NAMES.map((name) => luaScript(name).source).join('\n');
    const topLevel = libs.flatMap((lib) =>
      [...lib.matchAll(/^local ([A-Za-z_][\w, ]*)=/gm)].flatMap((m) =>
        (m[1] as string).split(',').map((n) => n.trim()),
      ),
    );
    expect(topLevel).toEqual(expect.arrayContaining(['FINAL', 'TRANSITIONS', 'LN2']));
    for (const name of topLevel) {
      const writes = new RegExp(`^(?!\\s*local )[^-\\n]*\\b${name}(\\[[^\\]]*\\]|\\.\\w+)*\\s*=[^=]`, 'gm');
      const insert = new RegExp(`table\\.(insert|remove)\\(\\s*${name}\\b`);
      expect({ name, writes: source.match(writes), insert: insert.test(source) }).toEqual({
        name,
        writes: null,
        insert: false,
      });
    }
  });

  it('deletes the libraries of versions nobody announced for a week, and no one else’s', async () => {
    const client = redis.server.client();
    const { keys } = await noopQueue(redis.server);
    await client.function('FLUSH');
    for (const name of SCRIPT_NAMES) await loadScript(client, name);
    const old = 'gf_take_000000000000';
    await client.function(
      'LOAD',
      `#!lua name=${old}\nredis.register_function('${old}', function() return 1 end)`,
    );
    await client.function(
      'LOAD',
      `#!lua name=myapp\nredis.register_function('myapp_f', function() return 1 end)`,
    );
    const t0 = 1_000_000;
    await announceFunctions(client, keys.functionsSeen, t0);
    expect(await pruneFunctions(client, keys.functionsSeen, t0)).toEqual([]); // the old one's clock starts
    expect(await client.hget(keys.functionsSeen, old)).toBe(String(t0));
    const later = t0 + FUNCTIONS_KEEP_MS;
    await announceFunctions(client, keys.functionsSeen, later - 1);
    expect(await pruneFunctions(client, keys.functionsSeen, later - 1)).toEqual([]);
    expect(await pruneFunctions(client, keys.functionsSeen, later)).toEqual([old]);
    const names = await libraryNames();
    expect(names).not.toContain(old);
    expect(names).toContain('myapp');
    expect(names).toEqual(expect.arrayContaining(SCRIPT_NAMES.map((name) => luaScript(name).fn)));
    expect(await client.hexists(keys.functionsSeen, old)).toBe(0);
  });
});
