// Per-GPU usage in GET /metrics and GET /v1/trackers: a real tracker samples its GPUs from a fake
// nvidia-smi and publishes the latest sample through its registry entry; the API turns the live
// trackers' samples into gauges labelled queue, tracker, gpu, uuid and model at scrape time. A GPU
// that is not the tracker's has no series, a value the GPU does not report has none, a tracker
// without an inventory has empty uuid and model, and a dead tracker's GPUs drop out with its heartbeat.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueKeys, silentLogger, type TrackerInfo } from '@gpufleet/core';
import {
  fakeGpu,
  fakeMachine,
  installFakeNvidiaSmi,
  useRedis,
  useTempDirs,
  waitFor,
} from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig } from '@gpufleet/tracker';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
const PROBE_EXECUTERS = fileURLToPath(new URL('../../tracker/test/fixtures/executers', import.meta.url));

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
});
afterAll(() => api.close());

const MIB = 1024 * 1024;

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The GPU series of a scrape. */
async function gpuSeries(): Promise<Series[]> {
  const res = await api.app.inject({ url: '/metrics' });
  expect(res.statusCode).toBe(200);
  const series: Series[] = [];
  for (const line of res.body.split('\n')) {
    const match = /^(gpufleet_gpu_\w+)\{(.*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    series.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return series;
}

/** name → value of the series of one GPU of one tracker. */
function ofGpu(series: Series[], tracker: string, gpu: string): Record<string, number> {
  return Object.fromEntries(
    series.filter((s) => s.labels.tracker === tracker && s.labels.gpu === gpu).map((s) => [s.name, s.value]),
  );
}

describe('GPU usage in /metrics', () => {
  it('gauges a real tracker’s GPUs from the sample it publishes, labelled as the inventory names them', async () => {
    const gpus = [
      fakeGpu('H100', 0, { utilizationGpu: 5, memoryUsedMiB: 500 }),
      fakeGpu('H100', 1, { utilizationGpu: 73, memoryUsedMiB: 12_345, temperatureC: 65, powerW: 312.5 }),
    ];
    const smi = await installFakeNvidiaSmi(await temp.make(), fakeMachine(gpus));
    const dir = await temp.make();
    const config = loadTrackerConfig(
      {
        REDIS_URL: redis.server.url,
        GPUFLEET_PREFIX: api.prefix,
        GPUFLEET_QUEUE: 'gpu-usage',
        REDIS_CONSUMER_NAME: 'gpu-node-1',
        GPUFLEET_EXECUTERS: PROBE_EXECUTERS,
        GPUFLEET_GPUS: '1',
        GPUFLEET_GPU_SAMPLE_MS: '50',
        // No occupancy check: GPU 1's 12,345 MiB in use with no task would hold it busy (gpu-occupancy.ts).
        GPUFLEET_GPU_CHECK_MS: '0',
        GPUFLEET_GPU_SETTLE_MS: '0',
        GPUFLEET_HEARTBEAT_MS: '100',
        GPUFLEET_WORKDIR: dir,
        GPUFLEET_TASK_INIT: 'off',
        ARTIFACT_STORE: dir,
      },
      dir,
    );
    const tracker = await createTracker(config, silentLogger(), { nvidiaSmi: smi.command });
    try {
      await tracker.start();
      const series = await waitFor(
        async () => {
          const all = await gpuSeries();
          const sampled = all.some(
            (s) => s.labels.tracker === 'gpu-node-1' && s.name === 'gpufleet_gpu_utilization_ratio',
          );
          return sampled && all;
        },
        { message: 'the tracker’s GPU usage series' },
      );
      // (gpufleet_gpu_held has a `kind` label besides: its series are checked in the test below.)
      const mine = series.filter((s) => s.labels.tracker === 'gpu-node-1' && s.name !== 'gpufleet_gpu_held');
      expect(new Set(mine.map((s) => JSON.stringify(s.labels)))).toEqual(
        new Set([
          JSON.stringify({
            queue: 'gpu-usage',
            tracker: 'gpu-node-1',
            gpu: '1',
            uuid: gpus[1]?.uuid,
            model: 'NVIDIA H100 80GB HBM3',
          }),
        ]),
      );
      expect(ofGpu(series, 'gpu-node-1', '1')).toEqual({
        gpufleet_gpu_utilization_ratio: 0.73,
        gpufleet_gpu_memory_used_bytes: 12_345 * MIB,
        gpufleet_gpu_memory_total_bytes: 81_559 * MIB,
        gpufleet_gpu_temperature_celsius: 65,
        gpufleet_gpu_power_watts: 312.5,
        gpufleet_gpu_held: 0,
      });

      // GET /v1/trackers shows the same sample under the GPU.
      const res = await api.app.inject({ url: '/v1/trackers?queue=gpu-usage', headers: auth(KEYS.admin) });
      expect(res.statusCode).toBe(200);
      const [view] = res.json<{ trackers: Array<{ gpus: Array<Record<string, unknown>> }> }>().trackers;
      expect(view?.gpus).toEqual([
        {
          id: 1,
          taskId: null,
          tenant: null,
          othersTask: false,
          device: expect.objectContaining({ uuid: gpus[1]?.uuid }),
          usage: {
            sampledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
            utilizationPercent: 73,
            memoryUsedMiB: 12_345,
            temperatureC: 65,
            powerW: 312.5,
          },
          hold: null,
        },
      ]);
    } finally {
      await tracker.close();
    }
  });

  it('leaves out what the GPU does not report, names no uuid or model without an inventory, and drops dead trackers', async () => {
    const keys = queueKeys(api.prefix, 'default');
    const now = Date.now();
    const base: TrackerInfo = {
      name: 'live-1',
      instance: 'i1',
      host: 'test-host',
      pid: 1,
      pidStartTime: null,
      gpus: [0, 3, 5],
      cpuSlots: 0,
      executers: [],
      running: {},
      startedAt: now - 1000,
      heartbeatAt: now,
      heartbeatMs: 60_000,
    };
    const stats = {
      at: now,
      gpus: [
        { index: 0, utilizationPercent: null, memoryUsedMiB: 1024, temperatureC: 50, powerW: null },
        { index: 3, utilizationPercent: 100, memoryUsedMiB: 0, temperatureC: null, powerW: 400 },
      ],
    };
    // GPU 5 held back: a process the tracker did not start uses it (gpu-occupancy.ts).
    const python = { pid: 4242, name: 'python', memoryMiB: 3000 };
    const busy = { index: 5, kind: 'busy' as const, reason: 'used by python', processes: [python] };
    const live: TrackerInfo = { ...base, gpuStats: stats, gpuHolds: [busy] };
    const dead: TrackerInfo = { ...base, name: 'dead-1', heartbeatAt: now - 10 * 60_000, gpuStats: stats };
    await api.redis.hset(keys.trackers, 'live-1', JSON.stringify(live), 'dead-1', JSON.stringify(dead));
    const series = await waitFor(
      async () => {
        const all = await gpuSeries();
        return all.some((s) => s.labels.tracker === 'live-1') && all;
      },
      { message: 'the registry’s GPU series' },
    );
    expect(ofGpu(series, 'live-1', '0')).toEqual({
      gpufleet_gpu_memory_used_bytes: 1024 * MIB,
      gpufleet_gpu_temperature_celsius: 50,
      gpufleet_gpu_held: 0,
    });
    expect(ofGpu(series, 'live-1', '3')).toEqual({
      gpufleet_gpu_utilization_ratio: 1,
      gpufleet_gpu_memory_used_bytes: 0,
      gpufleet_gpu_power_watts: 400,
      gpufleet_gpu_held: 0,
    });
    expect(ofGpu(series, 'live-1', '5')).toEqual({
      gpufleet_gpu_held: 1,
      gpufleet_gpu_foreign_processes: 1,
      gpufleet_gpu_foreign_memory_bytes: 3000 * MIB,
    });
    expect(series.find((s) => s.name === 'gpufleet_gpu_held' && s.labels.gpu === '5')?.labels.kind).toBe(
      'busy',
    );
    expect(series.find((s) => s.labels.tracker === 'live-1')?.labels).toMatchObject({
      queue: 'default',
      uuid: '',
      model: '',
    });
    expect(series.filter((s) => s.labels.tracker === 'dead-1')).toEqual([]);
  });
});
