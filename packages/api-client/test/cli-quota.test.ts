// `gpufleet submit` against a real API whose keys file gives tenant alice a quota of 2 waiting
// tasks (`tenants.alice.maxWaitingTasks`) over a GPUFLEET_MAX_WAITING_TASKS default of 1: the
// submission past the limit exits 1 with the API's message on stderr (or its QUOTA_EXCEEDED error
// with --json), and nothing is written for it. No tracker runs, so the tasks stay waiting.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishCatalog, queueKeys, silentLogger } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs } from '@gpufleet/testkit';
import { hashApiKey, loadApiConfig, newApiKey, startApiServer, type ApiServer } from '@gpufleet/api';
import { runCli, WAITING_PROBE } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const prefix = uniquePrefix('quota');
const alice = newApiKey();
const bob = newApiKey();
let api: ApiServer;
let home: string;

beforeAll(async () => {
  const dir = await temp.make();
  home = dir;
  const keysFile = join(dir, 'keys.json');
  await writeFile(
    keysFile,
    JSON.stringify({
      keys: [
        { name: 'alice', tenant: 'alice', role: 'user', sha256: hashApiKey(alice) },
        { name: 'bob', tenant: 'bob', role: 'user', sha256: hashApiKey(bob) },
      ],
      tenants: { alice: { maxWaitingTasks: 2 } },
    }),
  );
  api = await startApiServer(
    loadApiConfig({
      REDIS_URL: redis.server.url,
      GPUFLEET_PREFIX: prefix,
      ARTIFACT_STORE: join(dir, 'artifacts'),
      GPUFLEET_API_PORT: '0',
      GPUFLEET_API_KEYS_FILE: keysFile,
      GPUFLEET_MAX_WAITING_TASKS: '1',
      LOG_LEVEL: 'silent',
    }),
    silentLogger(),
  );
  await publishCatalog(redis.server.client(), queueKeys(prefix, 'default'), [WAITING_PROBE]);
});
afterAll(async () => {
  await api?.close();
});

// No tracker runs: the tasks are submitted to wait for one (the API refuses them otherwise).
const cli = (token: string, args: string[]) =>
  runCli(['submit', 'probe', '--wait-for-capacity', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: home, GPUFLEET_API_URL: api.url, GPUFLEET_TOKEN: token },
  });

describe('gpufleet submit past the waiting quota', () => {
  it('exits 1 with the API’s message naming the limit, the tenant, the queue and the count', async () => {
    for (let i = 0; i < 2; i++) {
      const ok = await cli(alice, []);
      expect(ok.code, ok.stderr).toBe(0);
    }
    const refused = await cli(alice, []);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      'gpufleet: tenant "alice" has 2 tasks waiting in queue "default"; its limit is 2 (maxWaitingTasks)',
    );
    const json = await cli(alice, ['--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: {
        code: 'QUOTA_EXCEEDED',
        message: 'tenant "alice" has 2 tasks waiting in queue "default"; its limit is 2 (maxWaitingTasks)',
        details: { limit: 2, waiting: 2, tenant: 'alice', queue: 'default', status: 429 },
      },
    });
    expect(await redis.server.client().zcard(queueKeys(prefix, 'default').index)).toBe(2);
    const queues = await runCli(['queues'], {
      env: { PATH: process.env.PATH ?? '', HOME: home, GPUFLEET_API_URL: api.url, GPUFLEET_TOKEN: alice },
    });
    expect(queues.code, queues.stderr).toBe(0);
    expect(queues.stdout).toMatch(
      /QUEUE +TENANT +WAITING +RUNNING +GPUS +WEIGHT +GPU QUOTA +USAGE\n *default +alice +2 +0 +0 +1 +- +0 GPU-h/,
    );
  });

  it('holds a tenant the keys file sets nothing for to GPUFLEET_MAX_WAITING_TASKS', async () => {
    expect((await cli(bob, [])).code).toBe(0);
    const refused = await cli(bob, []);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('tenant "bob" has 1 task waiting in queue "default"; its limit is 1');
  });

  it('says how many of several runs were submitted before the quota refused one, and how to go on', async () => {
    await publishCatalog(redis.server.client(), queueKeys(prefix, 'other'), [WAITING_PROBE]);
    const runs = await cli(bob, ['--queue', 'other', '--runs', '3', '--idempotency-key', 'bob-runs']);
    expect(runs.code).toBe(1);
    expect(runs.stdout.trim().split('\n')).toHaveLength(1); // the one id accepted
    expect(runs.stderr).toContain(
      'submitted 1 of 3 before the error below; rerun with --idempotency-key bob-runs to submit the rest',
    );
    expect(runs.stderr).toContain('tenant "bob" has 1 task waiting in queue "other"; its limit is 1');
    const again = await cli(bob, ['--queue', 'other', '--runs', '3', '--idempotency-key', 'bob-runs']);
    expect(again.stdout).toBe(runs.stdout); // the first run replays; nothing new past the quota
    expect(await redis.server.client().zcard(queueKeys(prefix, 'other').index)).toBe(1);
  });
});
