// gpufleet-tracker-healthcheck: healthy (exit 0) while this machine's tracker heartbeats,
// unhealthy (exit 1, saying why) when it is not registered or Redis cannot be reached.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { useFaultFleets } from './helpers/fault-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const newFleet = useFaultFleets(redis, temp);
const BIN = fileURLToPath(new URL('../dist/bin/healthcheck.js', import.meta.url));

function check(env: Record<string, string>): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, [BIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('gpufleet-tracker-healthcheck', () => {
  it('is healthy while the tracker heartbeats, and unhealthy once it is gone', async () => {
    const fleet = await newFleet();
    const tracker = await fleet.start('tracker-h');
    const env = {
      REDIS_URL: redis.server.url,
      GPUFLEET_PREFIX: fleet.prefix,
      REDIS_CONSUMER_NAME: 'tracker-h',
    };
    expect(check(env)).toMatchObject({ status: 0, out: expect.stringMatching(/^healthy/) as unknown });
    tracker.signal('SIGTERM');
    await tracker.exited;
    expect(check(env)).toMatchObject({ status: 1, out: expect.stringMatching(/not registered/) as unknown });
  });

  it('is unhealthy when Redis cannot be reached', () => {
    const result = check({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_CONSUMER_NAME: 'x' });
    expect(result.status).toBe(1);
    expect(result.out).toMatch(/unhealthy: redis not ready/);
  });
});
