// The API on a Redis without functions (older than 7.0, here one whose FUNCTION command is
// renamed away): it does not start, and says why, naming Redis 7.0, rather than serving requests
// that would each fail.
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis, uniquePrefix, useTempDirs, type RedisServer } from '@gpufleet/testkit';
import { ApiProcess } from './helpers/api-process.js';

const temp = useTempDirs();
let old: RedisServer | undefined;
let api: ApiProcess | undefined;

afterAll(async () => {
  await api?.stop();
  await old?.stop();
});

describe('the API on a Redis older than 7.0', () => {
  it('refuses to start, naming Redis 7.0', async () => {
    old = await startRedis({ extraArgs: ['--rename-command', 'FUNCTION', '""'] });
    const dir = await temp.make();
    api = new ApiProcess({
      redisUrl: old.url,
      prefix: uniquePrefix('redis6'),
      artifactDir: dir,
      cwd: dir,
      token: 'redis-7-test-token-0c41e2',
    });
    const exit = await api.exitWithin(20_000);
    expect(exit, api.output()).toEqual({ code: 1, signal: null });
    const fatal = api.logs.find((l) => l.msg === 'the API could not start');
    expect(JSON.stringify(fatal), api.output()).toMatch(/needs Redis 7\.0 or newer.*unknown command/);
    expect(api.logs.some((l) => l.msg === 'gpufleet API listening')).toBe(false);
  });
});
