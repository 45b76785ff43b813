// The API's configuration (defaults, every bad variable at once, never running without keys, the
// scheduling variables: default priorities, per queue too, the fair-share half-life, the running-GPU
// quota) and its keys (the keys file holds only hashes; a malformed file is refused naming each
// problem), and the tenants' settings: the keys file's `tenants` (quotas, weight) over the
// GPUFLEET_MAX_WAITING_TASKS and GPUFLEET_MAX_RUNNING_GPUS defaults; the retention policy
// (GPUFLEET_RETENTION, GPUFLEET_TENANT_RETENTION) that POST /v1/admin/gc sweeps by.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_RETENTION } from '@gpufleet/core';
import { useTempDirs } from '@gpufleet/testkit';
import {
  hashApiKey,
  loadAccess,
  loadApiConfig,
  loadKeyring,
  newApiKey,
  parseByteSize,
  priorityByQueue,
} from '@gpufleet/api';

const temp = useTempDirs();

describe('loadApiConfig', () => {
  it('has defaults for everything but the keys, and freezes the result', () => {
    const config = loadApiConfig({ GPUFLEET_API_TOKEN: 'a-token-of-enough-length' }, '/srv');
    expect(config).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      prefix: 'gf',
      port: 8080,
      host: '127.0.0.1',
      keysFile: null,
      token: 'a-token-of-enough-length',
      maxUploadBytes: 10 * 1024 ** 3,
      outputRedirect: false,
      presignExpiresMs: 900_000,
      maxWaitingTasks: null,
      defaultPriority: 500,
      fairShareHalfLifeMs: 3_600_000,
      maxRunningGpus: null,
      logLevel: 'info',
    });
    expect(config.queuePriorities.size).toBe(0);
    expect(Object.isFrozen(config)).toBe(true);
    expect(loadApiConfig({ GPUFLEET_API_KEYS_FILE: 'keys.json' }, '/srv').keysFile).toBe('/srv/keys.json');
    expect(
      loadApiConfig({ GPUFLEET_API_TOKEN: 'x'.repeat(16), REDIS_HOSTNAME: 'redis', REDIS_PORT: '6380' })
        .redisUrl,
    ).toBe('redis://redis:6380');
  });

  it('reports every bad variable at once', () => {
    let error: unknown;
    try {
      loadApiConfig({
        GPUFLEET_API_PORT: 'http',
        GPUFLEET_API_TOKEN: 'short',
        GPUFLEET_API_MAX_UPLOAD_BYTES: 'lots',
        GPUFLEET_PREFIX: 'a b',
        REDIS_URL: 'http://redis',
        LOG_LEVEL: 'loud',
        GPUFLEET_MAX_WAITING_TASKS: '-1',
        GPUFLEET_DEFAULT_PRIORITY: '1001',
        GPUFLEET_QUEUE_PRIORITIES: 'gpu=high',
        GPUFLEET_FAIRSHARE_HALF_LIFE_MS: '0',
        GPUFLEET_MAX_RUNNING_GPUS: '-1',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const fields = (error as ConfigError).issues.map((i) => i.field).sort();
    expect(fields).toEqual([
      'GPUFLEET_API_MAX_UPLOAD_BYTES',
      'GPUFLEET_API_PORT',
      'GPUFLEET_API_TOKEN',
      'GPUFLEET_DEFAULT_PRIORITY',
      'GPUFLEET_FAIRSHARE_HALF_LIFE_MS',
      'GPUFLEET_MAX_RUNNING_GPUS',
      'GPUFLEET_MAX_WAITING_TASKS',
      'GPUFLEET_PREFIX',
      'GPUFLEET_QUEUE_PRIORITIES',
      'LOG_LEVEL',
      'REDIS_URL',
    ]);
  });

  it('reads the scheduling variables: default priorities, per queue too, half-life, running-GPU quota', () => {
    const config = loadApiConfig({
      GPUFLEET_API_TOKEN: 'x'.repeat(16),
      GPUFLEET_DEFAULT_PRIORITY: '200',
      GPUFLEET_QUEUE_PRIORITIES: ' gpu=900, batch = 0 ,',
      GPUFLEET_FAIRSHARE_HALF_LIFE_MS: '600000',
      GPUFLEET_MAX_RUNNING_GPUS: '0',
    });
    expect(config).toMatchObject({ defaultPriority: 200, fairShareHalfLifeMs: 600_000, maxRunningGpus: 0 });
    expect([...config.queuePriorities]).toEqual([
      ['gpu', 900],
      ['batch', 0],
    ]);
    const priority = priorityByQueue(config.defaultPriority, config.queuePriorities);
    expect([priority('gpu'), priority('batch'), priority('default'), priority('constructor')]).toEqual([
      900, 0, 200, 200,
    ]);
  });

  it('refuses each bad GPUFLEET_QUEUE_PRIORITIES entry, naming it, with the other bad variables', () => {
    let error: unknown;
    try {
      loadApiConfig({
        GPUFLEET_API_TOKEN: 'x'.repeat(16),
        GPUFLEET_QUEUE_PRIORITIES: 'gpu=900,bad name=5,cpu=1001,batch,gpu=100,big=2.5,ok=7',
        GPUFLEET_DEFAULT_PRIORITY: 'high',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => `${i.field}: ${i.reason}`)).toEqual([
      'GPUFLEET_DEFAULT_PRIORITY: must be an integer (got "high")',
      'GPUFLEET_QUEUE_PRIORITIES: entry "bad name=5": the queue name must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
      'GPUFLEET_QUEUE_PRIORITIES: entry "cpu=1001": the priority must be an integer from 0 to 1000',
      'GPUFLEET_QUEUE_PRIORITIES: entry "batch" is not queue=priority',
      'GPUFLEET_QUEUE_PRIORITIES: entry "gpu=100": queue "gpu" is given twice',
      'GPUFLEET_QUEUE_PRIORITIES: entry "big=2.5": the priority must be an integer from 0 to 1000',
    ]);
  });

  it('reads the retention policy, and refuses a bad one naming the variable', () => {
    const base = { GPUFLEET_API_TOKEN: 'x'.repeat(16) };
    expect(loadApiConfig(base).retention).toEqual(DEFAULT_RETENTION);
    const config = loadApiConfig({
      ...base,
      GPUFLEET_RETENTION: 'succeeded=1h',
      GPUFLEET_TENANT_RETENTION: 'alice=2d',
    });
    expect(config.retention.byStatus.succeeded).toBe(3_600_000);
    expect(config.retention.byStatus.failed).toBe(DEFAULT_RETENTION.byStatus.failed);
    expect(config.retention.tenants.alice?.succeeded).toBe(2 * 86_400_000);
    let error: unknown;
    try {
      loadApiConfig({ ...base, GPUFLEET_RETENTION: 'succeeded=soon', GPUFLEET_TENANT_RETENTION: 'alice' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.field)).toEqual([
      'GPUFLEET_RETENTION',
      'GPUFLEET_TENANT_RETENTION',
    ]);
  });

  it('reads GPUFLEET_MAX_WAITING_TASKS as an integer >= 0', () => {
    const limit = (value: string) =>
      loadApiConfig({ GPUFLEET_API_TOKEN: 'x'.repeat(16), GPUFLEET_MAX_WAITING_TASKS: value })
        .maxWaitingTasks;
    expect(limit('500')).toBe(500);
    expect(limit('0')).toBe(0);
    expect(() => limit('many')).toThrow(/GPUFLEET_MAX_WAITING_TASKS: must be an integer/);
  });

  it('refuses to run without any key', () => {
    expect(() => loadApiConfig({})).toThrow(
      /GPUFLEET_API_KEYS_FILE: is required unless GPUFLEET_API_TOKEN is set/,
    );
  });

  it.each([
    ['1048576', 1048576],
    ['500MB', 500_000_000],
    ['10GiB', 10 * 1024 ** 3],
    ['1.5 KiB', 1536],
    ['ten', null],
    ['5 parsecs', null],
  ])('reads the size %s', (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });
});

describe('loadKeyring', () => {
  it('maps each key of the keys file (hashed) and the token to its tenant and role', async () => {
    const alice = newApiKey();
    const root = newApiKey();
    expect(alice).toMatch(/^gfk_[A-Za-z0-9_-]{43}$/);
    const file = join(await temp.make(), 'keys.json');
    await writeFile(
      file,
      JSON.stringify({
        keys: [
          { name: 'alice-laptop', tenant: 'alice', role: 'user', sha256: hashApiKey(alice) },
          { name: 'ops', tenant: 'ops', role: 'admin', sha256: hashApiKey(root) },
        ],
      }),
    );
    expect(await import('node:fs/promises').then((fs) => fs.readFile(file, 'utf8'))).not.toContain(alice);
    const keyring = await loadKeyring({ keysFile: file, token: 'local-token-1234567' });
    expect(keyring.authenticate(alice)).toEqual({ keyName: 'alice-laptop', tenant: 'alice', role: 'user' });
    expect(keyring.authenticate(root)?.role).toBe('admin');
    expect(keyring.authenticate('local-token-1234567')).toEqual({
      keyName: 'GPUFLEET_API_TOKEN',
      tenant: 'default',
      role: 'admin',
    });
    expect(keyring.authenticate(`${alice} `)).toBeNull();
    expect(keyring.authenticate('')).toBeNull();
  });

  it('refuses a malformed keys file, naming each problem', async () => {
    const file = join(await temp.make(), 'keys.json');
    await writeFile(
      file,
      JSON.stringify({
        keys: [
          { name: 'a', tenant: 'bad tenant', role: 'user', sha256: 'a'.repeat(64) },
          { name: 'b', tenant: 'ok', role: 'root', sha256: 'b'.repeat(64) },
          { name: 'c', tenant: 'ok', role: 'user', sha256: 'not-a-hash' },
        ],
      }),
    );
    const error = await loadKeyring({ keysFile: file, token: null }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).message;
    expect(text).toContain('keys[1].role');
    expect(text).toContain('keys[2].sha256');
    await writeFile(
      file,
      JSON.stringify({ keys: [{ name: 'a', tenant: 'bad tenant', role: 'user', sha256: 'a'.repeat(64) }] }),
    );
    await expect(loadKeyring({ keysFile: file, token: null })).rejects.toThrow(/keys\[0\]\.tenant/);
    await writeFile(file, '{"keys": [');
    await expect(loadKeyring({ keysFile: file, token: null })).rejects.toThrow(/is not JSON/);
    await expect(loadKeyring({ keysFile: join(file, 'missing'), token: null })).rejects.toThrow(
      /cannot be read/,
    );
  });
});

describe('the keys file’s tenants', () => {
  const keys = [
    { name: 'a', tenant: 'alice', role: 'user', sha256: 'a'.repeat(64) },
    { name: 'b', tenant: 'bob', role: 'user', sha256: 'b'.repeat(64) },
  ];
  async function keysFile(tenants: unknown): Promise<string> {
    const file = join(await temp.make(), 'keys.json');
    await writeFile(file, JSON.stringify({ keys, tenants }));
    return file;
  }

  it('set a tenant’s own limit over the GPUFLEET_MAX_WAITING_TASKS default', async () => {
    const file = await keysFile({ alice: { maxWaitingTasks: 500 }, bob: {} });
    const { tenants } = await loadAccess({ keysFile: file, token: null, defaults: { maxWaitingTasks: 20 } });
    expect([tenants.maxWaitingTasks('alice'), tenants.maxWaitingTasks('bob')]).toEqual([500, 20]);
    const none = await loadAccess({ keysFile: file, token: null });
    expect([none.tenants.maxWaitingTasks('alice'), none.tenants.maxWaitingTasks('bob')]).toEqual([500, null]);
  });

  it('set a tenant’s weight (default 1) and running-GPU quota over the GPUFLEET_MAX_RUNNING_GPUS default', async () => {
    const file = await keysFile({ alice: { weight: 2.5, maxRunningGpus: 8 }, bob: { maxRunningGpus: 0 } });
    const { tenants } = await loadAccess({
      keysFile: file,
      token: null,
      defaults: { maxWaitingTasks: null, maxRunningGpus: 4 },
    });
    expect([tenants.scheduling('alice'), tenants.scheduling('bob'), tenants.scheduling('carol')]).toEqual([
      { weight: 2.5, maxRunningGpus: 8 },
      { weight: 1, maxRunningGpus: 0 },
      { weight: 1, maxRunningGpus: 4 },
    ]);
    const none = await loadAccess({ keysFile: await keysFile({ alice: {} }), token: null });
    expect([none.tenants.weight('alice'), none.tenants.maxRunningGpus('alice')]).toEqual([1, null]);
  });

  it('are refused naming each bad field: unknown settings, bad limits, tenants no key belongs to', async () => {
    const file = await keysFile({
      alice: { maxWaitingTasks: -1, priority: 2, weight: 0 },
      bob: { maxWaitingTasks: 2.5, weight: 'heavy', maxRunningGpus: 1.5 },
      carol: { maxWaitingTasks: 1 },
    });
    const error = await loadAccess({ keysFile: file, token: null }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.map((i) => `${i.field.replace(/^.*\) /, '')}: ${i.reason}`);
    expect(issues.sort()).toEqual([
      'tenants.alice.maxWaitingTasks: must be an integer >= 0',
      'tenants.alice.priority: is not a tenant setting (there are: maxWaitingTasks, weight, maxRunningGpus)',
      'tenants.alice.weight: must be a number > 0',
      'tenants.bob.maxRunningGpus: must be an integer >= 0',
      'tenants.bob.maxWaitingTasks: must be an integer >= 0',
      'tenants.bob.weight: must be a number > 0',
      'tenants.carol: no key in the file belongs to this tenant',
    ]);
    await expect(loadAccess({ keysFile: await keysFile([]), token: null })).rejects.toThrow(/tenants: /);
  });
});
