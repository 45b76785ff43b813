// The API's configuration (defaults, every bad variable at once, never running without keys) and
// its keys (the keys file holds only hashes; a malformed file is refused naming each problem), and
// the tenants' settings: the keys file's `tenants` over the GPUFLEET_MAX_WAITING_TASKS default.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@gpufleet/core';
import { useTempDirs } from '@gpufleet/testkit';
import { hashApiKey, loadAccess, loadApiConfig, loadKeyring, newApiKey, parseByteSize } from '@gpufleet/api';

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
      logLevel: 'info',
    });
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
      'GPUFLEET_MAX_WAITING_TASKS',
      'GPUFLEET_PREFIX',
      'LOG_LEVEL',
      'REDIS_URL',
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

  it('are refused naming each bad field: unknown settings, bad limits, tenants no key belongs to', async () => {
    const file = await keysFile({
      alice: { maxWaitingTasks: -1, weight: 2 },
      bob: { maxWaitingTasks: 2.5 },
      carol: { maxWaitingTasks: 1 },
    });
    const error = await loadAccess({ keysFile: file, token: null }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.map((i) => `${i.field.replace(/^.*\) /, '')}: ${i.reason}`);
    expect(issues.sort()).toEqual([
      'tenants.alice.maxWaitingTasks: must be an integer >= 0',
      'tenants.alice.weight: is not a tenant setting (there are: maxWaitingTasks)',
      'tenants.bob.maxWaitingTasks: must be an integer >= 0',
      'tenants.carol: no key in the file belongs to this tenant',
    ]);
    await expect(loadAccess({ keysFile: await keysFile([]), token: null })).rejects.toThrow(/tenants: /);
  });
});
