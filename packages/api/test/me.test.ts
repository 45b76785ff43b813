// GET /v1/me: the request's key as the API knows it (tenant, role, key name), for any key; no key
// is a 401 like every /v1 route.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
});
afterAll(() => api.close());

describe('GET /v1/me', () => {
  it('answers the key’s tenant, role and name, for a user key and an admin key', async () => {
    const alice = await api.app.inject({ url: '/v1/me', headers: auth(KEYS.alice) });
    expect([alice.statusCode, alice.json()]).toEqual([
      200,
      { tenant: 'alice', role: 'user', keyName: 'alice' },
    ]);
    const admin = await api.app.inject({ url: '/v1/me', headers: auth(KEYS.admin) });
    expect(admin.json()).toEqual({ tenant: 'ops', role: 'admin', keyName: 'ops' });
  });

  it('needs a key', async () => {
    const res = await api.app.inject({ url: '/v1/me' });
    expect([res.statusCode, res.json().error.code]).toEqual([401, 'UNAUTHORIZED']);
  });
});
