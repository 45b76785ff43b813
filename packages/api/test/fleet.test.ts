// The fleet views: what live trackers offer (with parameter schemas; a dead tracker's executers
// are not offered), queue figures (depth, running, dead, oldest wait) and the trackers with the
// task that holds each GPU and each GPU's model, memory and ids as a real tracker read them (from
// a fake nvidia-smi), or null from a tracker that published none. Queues that have only trackers
// are found too. What a user key sees of other tenants' tasks there: trackers-tenants.test.ts.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueKeys, silentLogger } from '@gpufleet/core';
import { fakeGpu, installFakeNvidiaSmi, useRedis, useTempDirs } from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig } from '@gpufleet/tracker';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker, PROBE } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
const PROBE_EXECUTERS = fileURLToPath(new URL('../../tracker/test/fixtures/executers', import.meta.url));

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
});
afterAll(() => api.close());

async function get(url: string, key: string = KEYS.alice) {
  return api.app.inject({ url, headers: auth(key) });
}

describe('GET /v1/executers', () => {
  it('lists what live trackers of each queue offer, with the parameter schema', async () => {
    const gpu = new FakeTracker(api.redis, queueKeys(api.prefix, 'gpu-big'), api.store, 'node-7');
    const service = {
      ports: ['control'],
      ready: { tcp: 'control' },
      startTimeoutMs: 60_000,
      restart: { count: 3, backoffMs: 1000 },
    };
    await gpu.register([
      { ...PROBE, name: 'sph', gpus: 2 },
      { ...PROBE, name: 'sim', service },
    ]);
    // A tracker whose heartbeat stopped long ago: its executer stays in the catalog but is not offered.
    const gone = new FakeTracker(api.redis, queueKeys(api.prefix, 'gpu-big'), api.store, 'node-8');
    await gone.register([{ ...PROBE, name: 'legacy' }]);
    const stale = JSON.parse((await api.redis.hget(gone.keys.trackers, 'node-8')) as string);
    await api.redis.hset(gone.keys.trackers, 'node-8', JSON.stringify({ ...stale, heartbeatAt: 0 }));

    const res = await get('/v1/executers');
    expect(res.statusCode).toBe(200);
    const offers = res.json<{ executers: Array<Record<string, unknown>> }>().executers;
    expect(offers).toContainEqual({
      queue: 'gpu-big',
      name: 'sph',
      version: '1.0.0',
      description: 'test executer',
      params: PROBE.params,
      gpus: 2,
      timeLimitMs: 60_000,
      trackers: ['node-7'],
      service: null,
    });
    // A service executer's offer carries its manifest's service block.
    expect(offers.find((o) => o.name === 'sim')?.['service']).toEqual(service);
    expect(offers.map((o) => o.name)).not.toContain('legacy');
    const filtered = (await get('/v1/executers?queue=default')).json().executers;
    expect(filtered).toEqual([]);
  });
});

describe('GET /v1/queues', () => {
  it('gives depth, running, dead and the oldest wait of each queue', async () => {
    const keys = queueKeys(api.prefix, 'batch');
    const tracker = new FakeTracker(api.redis, keys, api.store, 'batch-1');
    await tracker.register();
    for (let i = 0; i < 3; i++) {
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/tasks',
        headers: auth(KEYS.alice),
        payload: { executer: 'probe', queue: 'batch' },
      });
      expect(res.statusCode).toBe(201);
    }
    await tracker.take();
    const dead = await tracker.take();
    await tracker.finish(dead, 'dead');
    const res = await get('/v1/queues?queue=batch');
    const [queue] = res.json<{ queues: Array<Record<string, unknown>> }>().queues;
    expect(queue).toMatchObject({ queue: 'batch', depth: 1, running: 1, dead: 1, liveTrackers: 1 });
    expect(queue?.oldestWaitingAgeMs).toBeGreaterThanOrEqual(0);
    const all = (await get('/v1/queues'))
      .json<{ queues: Array<{ queue: string }> }>()
      .queues.map((q) => q.queue);
    expect(all).toEqual(expect.arrayContaining(['batch', 'default', 'gpu-big']));
  });
});

describe('GET /v1/trackers', () => {
  it('shows admins each tracker’s GPUs and the task holding each', async () => {
    const keys = queueKeys(api.prefix, 'render');
    await new FakeTracker(api.redis, keys, api.store, 'render-1').register([PROBE], { t1: [1], t2: [] });
    const res = await get('/v1/trackers?queue=render', KEYS.admin);
    expect(res.statusCode).toBe(200);
    const [tracker] = res.json<{ trackers: Array<Record<string, unknown>> }>().trackers;
    expect(tracker).toMatchObject({
      name: 'render-1',
      queue: 'render',
      host: 'test-host',
      live: true,
      // A registration without an inventory (as older trackers write): no device, no inventory.
      // t1 and t2 have no record here: no tenant to show.
      gpus: [
        { id: 0, taskId: null, tenant: null, othersTask: false, device: null },
        { id: 1, taskId: 't1', tenant: null, othersTask: false, device: null },
      ],
      inventory: null,
      cpuTasks: ['t2'],
      cpuSlotTasks: [{ taskId: 't2', tenant: null, othersTask: false }],
      executers: ['probe'],
    });
    expect(Date.parse(tracker?.lastHeartbeat as string)).toBeGreaterThan(0);
  });

  it('shows each GPU as the tracker read it with nvidia-smi: model, memory, UUID, bus id, MIG mode', async () => {
    const gpus = [fakeGpu('H100', 0), fakeGpu('A100-80GB', 1, { migMode: 'Enabled' }), fakeGpu('L4', 2)];
    const smi = await installFakeNvidiaSmi(await temp.make(), {
      driverVersion: '550.54.15',
      cudaVersion: '12.4',
      gpus,
    });
    const dir = await temp.make();
    const config = loadTrackerConfig(
      {
        REDIS_URL: redis.server.url,
        GPUFLEET_PREFIX: api.prefix,
        GPUFLEET_QUEUE: 'inventory',
        REDIS_CONSUMER_NAME: 'gpu-node-1',
        GPUFLEET_EXECUTERS: PROBE_EXECUTERS,
        GPUFLEET_GPUS: `${gpus[1]?.uuid},2`,
        GPUFLEET_WORKDIR: dir,
        GPUFLEET_TASK_INIT: 'off',
        ARTIFACT_STORE: dir,
      },
      dir,
    );
    const tracker = await createTracker(config, silentLogger(), { nvidiaSmi: smi.command });
    try {
      await tracker.start();
      const res = await get('/v1/trackers?queue=inventory', KEYS.admin);
      expect(res.statusCode).toBe(200);
      const [view] = res.json<{ trackers: Array<Record<string, unknown>> }>().trackers;
      expect(view).toMatchObject({
        name: 'gpu-node-1',
        gpus: [
          {
            id: 1,
            taskId: null,
            device: {
              uuid: gpus[1]?.uuid,
              pciBusId: '00000000:29:00.0',
              name: 'NVIDIA A100-SXM4-80GB',
              memoryMiB: 81920,
              computeCapability: '8.0',
              migMode: 'enabled',
            },
          },
          {
            id: 2,
            taskId: null,
            device: {
              uuid: gpus[2]?.uuid,
              pciBusId: '00000000:3A:00.0',
              name: 'NVIDIA L4',
              memoryMiB: 23034,
              computeCapability: '8.9',
              migMode: null,
            },
          },
        ],
        inventory: { driverVersion: '550.54.15', cudaVersion: '12.4', error: null },
      });
    } finally {
      await tracker.close();
    }
  });
});
