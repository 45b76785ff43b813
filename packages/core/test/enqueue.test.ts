// enqueue(): one Lua step writes the record, the stream entry, the event and the idempotency key;
// bad specs are refused naming every bad field, and nothing is written for them.
import { describe, expect, it, vi } from 'vitest';
import {
  CATALOG_CACHE_MS,
  enqueue,
  getTask,
  IdempotencyConflictError,
  publishCatalog,
  queueKeys,
  SETTINGS_REWRITE_MS,
  UnknownExecuterError,
  ValidationError,
  type CatalogEntry,
} from '@gpufleet/core';
import { uniquePrefix, useRedis } from '@gpufleet/testkit';

const redis = useRedis();

const sph: CatalogEntry = {
  name: 'sph',
  version: '1.0.0',
  description: 'dam break',
  params: {
    type: 'object',
    properties: { steps: { type: 'integer', minimum: 1, default: 100 }, name: { type: 'string' } },
    additionalProperties: false,
  },
  gpus: 1,
  timeLimitMs: 60_000,
  tracker: 't',
  updatedAt: 0,
};

async function fleet(): Promise<{
  prefix: string;
  deps: { redis: ReturnType<typeof redis.server.client>; prefix: string };
}> {
  const prefix = uniquePrefix();
  const client = redis.server.client();
  await publishCatalog(client, queueKeys(prefix, 'default'), [sph]);
  return { prefix, deps: { redis: client, prefix } };
}

function issuesOf(error: unknown): string[] {
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).issues.map((i) => i.field);
}

describe('enqueue', () => {
  it('writes the record with defaults resolved from the catalog and one stream entry', async () => {
    const { prefix, deps } = await fleet();
    const keys = queueKeys(prefix, 'default');
    const { id, created } = await enqueue(deps, { executer: 'sph' });
    expect(created).toBe(true);
    expect(id).toMatch(/^[0-9a-z]{26}$/);
    const task = await getTask(deps.redis, keys, id);
    expect(task).toMatchObject({
      status: 'queued',
      gpus: 1,
      timeLimitMs: 60_000,
      params: { steps: 100 },
      attempt: 0,
      maxAttempts: 3,
    });
    const entries = await deps.redis.xrange(keys.tasks(1), '-', '+');
    expect(entries.map(([, f]) => f[1])).toEqual([id]);
    const events = await deps.redis.xrange(keys.events, '-', '+');
    expect(events.map(([, f]) => [f[1], f[3]])).toEqual([[id, 'queued']]);
  });

  it('names every bad field of a spec with wrong types, and writes nothing', async () => {
    const { prefix, deps } = await fleet();
    const error = await enqueue(deps, {
      executer: 'sph',
      gpus: 'two',
      timeLimitMs: -5,
      surprise: true,
    }).catch((e: unknown) => e);
    expect(issuesOf(error).sort()).toEqual(['gpus', 'surprise', 'timeLimitMs']);
    expect((error as Error).message).toMatch(/gpus: expected integer/);
    expect(await deps.redis.keys(`${prefix}:*:task:*`)).toEqual([]);
  });

  it('stores a name and tags in the task hash, and refuses bad ones naming each field', async () => {
    const { prefix, deps } = await fleet();
    const keys = queueKeys(prefix, 'default');
    const { id } = await enqueue(deps, {
      executer: 'sph',
      name: 'dam 1',
      tags: { sweep: 'dx', 'run.no': '3' },
    });
    expect(await deps.redis.hmget(keys.task(id), 'name', 'tags')).toEqual([
      'dam 1',
      JSON.stringify({ sweep: 'dx', 'run.no': '3' }),
    ]);
    expect(await getTask(deps.redis, keys, id)).toMatchObject({
      name: 'dam 1',
      tags: { sweep: 'dx', 'run.no': '3' },
    });
    const bare = await enqueue(deps, { executer: 'sph' });
    expect(await getTask(deps.redis, keys, bare.id)).toMatchObject({ name: null, tags: {} });
    const error = await enqueue(deps, {
      executer: 'sph',
      name: 'tab\there',
      tags: { 'my key': 'x', seed: 1, long: 'v'.repeat(257) },
    }).catch((e: unknown) => e);
    expect(issuesOf(error).sort()).toEqual(['name', 'tags.long', 'tags.my key', 'tags.seed']);
    expect((error as Error).message).toContain('tags.my key: not a tag key');
    expect((error as Error).message).toContain('name: must not contain control characters');
    expect(await deps.redis.zcard(keys.index)).toBe(2);
  });

  it('checks parameters against the executer schema, naming the parameter', async () => {
    const { deps } = await fleet();
    const error = await enqueue(deps, { executer: 'sph', params: { steps: 'many', color: 'red' } }).catch(
      (e: unknown) => e,
    );
    expect(issuesOf(error).sort()).toEqual(['params', 'params.steps']);
    expect((error as Error).message).toMatch(/params\.steps: must be integer/);
    expect((error as Error).message).toMatch(/unknown parameter "color"/);
  });

  it('refuses input names that would leave the inputs folder, naming each field, and writes nothing', async () => {
    const { prefix, deps } = await fleet();
    const keysBefore = (await deps.redis.keys(`${prefix}:*`)).sort();
    const names = [
      'ok/input.txt',
      '../x',
      '/etc/passwd',
      '../../../acme/06gzw4jy34vchezwpynhynwebm/1/outputs/file',
      'a//b',
      'a\\b',
      'a\0b',
    ];
    const error = await enqueue(deps, { executer: 'sph', inputs: names.map((name) => ({ name })) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('PATH_ESCAPE');
    expect((error as ValidationError).issues).toEqual([
      { field: 'inputs[1].name', reason: 'it has a ".." segment' },
      { field: 'inputs[2].name', reason: 'it is absolute' },
      { field: 'inputs[3].name', reason: 'it has a ".." segment' },
      { field: 'inputs[4].name', reason: expect.stringMatching(/empty segment/) as unknown },
      { field: 'inputs[5].name', reason: 'it contains a backslash' },
      { field: 'inputs[6].name', reason: 'it contains a NUL character' },
    ]);
    expect((error as Error).message).toMatch(/inputs\[1\]\.name: it has a "\.\." segment/);
    expect((await deps.redis.keys(`${prefix}:*`)).sort()).toEqual(keysBefore);
  });

  it('lists bad input names with the other bad fields of a spec', async () => {
    const { deps } = await fleet();
    const error = await enqueue(deps, { executer: 'sph', gpus: -1, inputs: [{ name: '/abs' }] }).catch(
      (e: unknown) => e,
    );
    expect((error as ValidationError).code).toBe('VALIDATION_FAILED');
    expect(issuesOf(error).sort()).toEqual(['gpus', 'inputs[0].name']);
  });

  it('refuses a parameter that would put a NUL character into argv, naming it, and writes nothing', async () => {
    const { prefix, deps } = await fleet();
    const keys = queueKeys(prefix, 'default');
    const argv: CatalogEntry = {
      ...sph,
      name: 'argv',
      params: {
        type: 'object',
        properties: {
          files: { type: 'array', items: { type: 'string' } },
          label: { type: 'string' },
          'odd name': { type: 'string' },
          options: { type: 'object' },
        },
        additionalProperties: false,
      },
    };
    await publishCatalog(deps.redis, keys, [sph, argv]);
    const error = await enqueue(deps, {
      executer: 'argv',
      params: { files: ['a', 'b\0', 'c'], label: '\0', 'odd name': 'x\0y' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('VALIDATION_FAILED');
    expect((error as ValidationError).issues).toEqual([
      { field: 'params.files[1]', reason: 'contains a NUL character, which a command argument cannot carry' },
      { field: 'params.label', reason: 'contains a NUL character, which a command argument cannot carry' },
      {
        field: 'params["odd name"]',
        reason: 'contains a NUL character, which a command argument cannot carry',
      },
    ]);
    expect(await deps.redis.keys(`${prefix}:*:task:*`)).toEqual([]);
    expect(await deps.redis.xlen(keys.tasks(1))).toBe(0);
    // A string deeper down reaches argv as JSON, where a NUL is the escape \u0000: that runs.
    const nested = await enqueue(deps, { executer: 'argv', params: { options: { note: 'a\0b' } } });
    expect(nested.created).toBe(true);
  });

  it('refuses an executer no tracker of the queue offers, naming the field and what is offered', async () => {
    const { deps } = await fleet();
    const error = await enqueue(deps, { executer: 'lammps' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownExecuterError);
    expect(issuesOf(error)).toEqual(['executer']);
    expect((error as Error).message).toMatch(
      /queue "default" offers no executer "lammps" \(it offers: sph\)/,
    );
    const empty = await enqueue(deps, { executer: 'sph', queue: 'nobody-here' }).catch((e: unknown) => e);
    expect((empty as Error).message).toMatch(/no tracker has registered on queue "nobody-here"/);
  });

  it('yields one task for an enqueue retried with the same idempotency key', async () => {
    const { prefix, deps } = await fleet();
    const spec = { executer: 'sph', params: { steps: 5 }, idempotencyKey: 'run-42' };
    const first = await enqueue(deps, spec);
    const again = await enqueue(deps, { idempotencyKey: 'run-42', params: { steps: 5 }, executer: 'sph' });
    expect(again).toEqual({ ...first, created: false });
    const concurrent = await Promise.all(
      Array.from({ length: 100 }, () => enqueue(deps, { ...spec, idempotencyKey: 'burst' })),
    );
    expect(new Set(concurrent.map((r) => r.id)).size).toBe(1);
    expect(concurrent.filter((r) => r.created)).toHaveLength(1);
    expect(await deps.redis.xlen(queueKeys(prefix, 'default').tasks(1))).toBe(2);
  });

  it('refuses the same idempotency key with another body, and keys are per tenant', async () => {
    const { deps } = await fleet();
    const first = await enqueue(deps, { executer: 'sph', idempotencyKey: 'k' });
    const error = await enqueue(deps, { executer: 'sph', params: { steps: 7 }, idempotencyKey: 'k' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect((error as IdempotencyConflictError).taskId).toBe(first.id);
    const other = await enqueue(deps, { executer: 'sph', idempotencyKey: 'k' }, { tenant: 'acme' });
    expect(other.created).toBe(true);
    expect(other.id).not.toBe(first.id);
  });
  it('reads the catalog once a second for an executer it lists, and at once for one it does not', async () => {
    const { prefix, deps } = await fleet();
    const keys = queueKeys(prefix, 'default');
    const reads = async (): Promise<number> => {
      const stats = (await deps.redis.info('commandstats')).match(/cmdstat_hgetall:calls=(\d+)/);
      return Number(stats?.[1] ?? 0);
    };
    /** The catalog reads (HGETALL calls) one enqueue makes. */
    const readsOf = async (executer: string): Promise<{ id: string; reads: number }> => {
      const before = await reads();
      const { id } = await enqueue(deps, { executer });
      return { id, reads: (await reads()) - before };
    };
    expect((await readsOf('sph')).reads).toBe(1);
    const second = await readsOf('sph');
    expect(second.reads).toBe(0);
    expect((await getTask(deps.redis, keys, second.id))?.timeLimitMs).toBe(60_000);
    // A new executer is found at once: a miss reads again.
    await publishCatalog(deps.redis, keys, [{ ...sph, name: 'fresh' }]);
    expect((await readsOf('fresh')).reads).toBe(1);
    // A changed entry is seen once the cached read is older than CATALOG_CACHE_MS.
    await publishCatalog(deps.redis, keys, [{ ...sph, timeLimitMs: 5000 }]);
    expect((await readsOf('sph')).reads).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, CATALOG_CACHE_MS + 50));
    const later = await readsOf('sph');
    expect(later.reads).toBe(1);
    expect((await getTask(deps.redis, keys, later.id))?.timeLimitMs).toBe(5000);
  });
});

describe('enqueue and the scheduling settings', () => {
  it('writes a tenant settings value when new or changed, not again with every task', async () => {
    const { prefix, deps } = await fleet();
    const keys = queueKeys(prefix, 'default');
    const scheduling = { weight: 2, maxRunningGpus: 4 };
    // A quota refusal writes nothing, so the next task still carries the settings.
    await expect(
      enqueue(deps, { executer: 'sph' }, { tenant: 'ann', scheduling, maxWaitingTasks: 0 }),
    ).rejects.toThrow(/waiting/);
    expect(await deps.redis.hget(keys.tenantSettings, 'ann')).toBeNull();
    await enqueue(deps, { executer: 'sph' }, { tenant: 'ann', scheduling, fairShareHalfLifeMs: 3_600_000 });
    expect(await deps.redis.hget(keys.tenantSettings, 'ann')).toBe('2,4');
    expect(await deps.redis.hget(keys.tenantUsage, '~halfLifeMs')).toBe('3600000');
    // The same values again: not sent (what was removed behind its back stays removed for now).
    await deps.redis.hdel(keys.tenantSettings, 'ann');
    await deps.redis.hdel(keys.tenantUsage, '~halfLifeMs');
    await enqueue(deps, { executer: 'sph' }, { tenant: 'ann', scheduling, fairShareHalfLifeMs: 3_600_000 });
    expect(await deps.redis.hget(keys.tenantSettings, 'ann')).toBeNull();
    expect(await deps.redis.hget(keys.tenantUsage, '~halfLifeMs')).toBeNull();
    // A changed value goes at once; another tenant's is its own.
    await enqueue(
      deps,
      { executer: 'sph' },
      { tenant: 'ann', scheduling: { weight: 3, maxRunningGpus: null } },
    );
    await enqueue(deps, { executer: 'sph' }, { tenant: 'bob', scheduling });
    expect(await deps.redis.hmget(keys.tenantSettings, 'ann', 'bob')).toEqual(['3,', '2,4']);
  });

  it('writes an unchanged value again once SETTINGS_REWRITE_MS has passed', async () => {
    const { prefix, deps } = await fleet();
    const keys = queueKeys(prefix, 'default');
    const scheduling = { weight: 5, maxRunningGpus: null };
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      await enqueue(deps, { executer: 'sph' }, { tenant: 'cy', scheduling });
      await deps.redis.hdel(keys.tenantSettings, 'cy'); // lost, as with a Redis restarted empty
      vi.advanceTimersByTime(SETTINGS_REWRITE_MS - 100);
      await enqueue(deps, { executer: 'sph' }, { tenant: 'cy', scheduling });
      expect(await deps.redis.hget(keys.tenantSettings, 'cy')).toBeNull();
      vi.advanceTimersByTime(200);
      await enqueue(deps, { executer: 'sph' }, { tenant: 'cy', scheduling });
      expect(await deps.redis.hget(keys.tenantSettings, 'cy')).toBe('5,');
    } finally {
      vi.useRealTimers();
    }
  });
});
