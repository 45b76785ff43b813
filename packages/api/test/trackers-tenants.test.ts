// GET /v1/trackers for every key: each GPU and CPU slot names the tenant of the task on it. An
// admin key sees every task, its tenant and every hold as the tracker published it. A user key
// sees its own tenant's tasks the same way; where another tenant's task runs it sees only that
// one does (`othersTask`), never the task's id nor its tenant, and holds name no process nor task.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTaskId, queueKeys, type GpuHoldInfo, type TrackerInfo } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
/** alice's and bob's tasks on GPUs and on CPU slots, and one whose record is gone. */
let ids: { aliceGpu: string; bobGpu: string; aliceCpu: string; bobCpu: string; gone: string };

const PYTHON = { pid: 4242, name: 'python-of-someone', memoryMiB: 3000 };
const HOLDS: GpuHoldInfo[] = [
  {
    index: 0,
    kind: 'busy',
    reason: `used by a process this tracker did not start: ${PYTHON.name} (pid 4242, 3000 MiB)`,
    processes: [PYTHON],
  },
  { index: 1, kind: 'drained', reason: 'fan replaced on Tuesday' },
  {
    index: 2,
    kind: 'settling',
    reason: 'the processes of task 06h4cm75tffp8gadx8w0v1585g have not left it yet',
  },
  {
    index: 3,
    kind: 'drained',
    reason: `the processes of task 06h4cm75tffp8gadx8w0v1585g did not leave it within 30000 ms: ${PYTHON.name} (pid 4242, 3000 MiB)`,
    processes: [PYTHON],
  },
];

interface GpuView {
  id: number;
  taskId: string | null;
  tenant: string | null;
  othersTask: boolean;
  hold: { kind: string; reason: string; processes?: unknown[] } | null;
}
interface TrackerView {
  name: string;
  gpus: GpuView[];
  cpuTasks: string[];
  cpuSlotTasks: Array<{ taskId: string | null; tenant: string | null; othersTask: boolean }>;
}

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  const keys = queueKeys(api.prefix, 'shared');
  const running = new FakeTracker(api.redis, keys, api.store, 'node-1');
  await running.register(); // the executer, so the submissions below are accepted
  const submit = (key: string) => submitProbe(api.app, key, { queue: 'shared' });
  ids = {
    aliceGpu: await submit(KEYS.alice),
    bobGpu: await submit(KEYS.bob),
    aliceCpu: await submit(KEYS.alice),
    bobCpu: await submit(KEYS.bob),
    gone: newTaskId(),
  };
  // The tracker says what runs where (its registration's `running`), as a real one does.
  await running.register(undefined, {
    [ids.aliceGpu]: [0],
    [ids.bobGpu]: [1],
    [ids.aliceCpu]: [],
    [ids.bobCpu]: [],
    [ids.gone]: [],
  });
  // A second tracker, idle, holding its GPUs back: for a foreign process, by an operator, for the
  // processes of the task that last had one (still settling, and past the settle time).
  const held = new FakeTracker(api.redis, keys, api.store, 'node-2');
  await held.register();
  const info = JSON.parse((await api.redis.hget(keys.trackers, 'node-2')) as string) as TrackerInfo;
  await api.redis.hset(
    keys.trackers,
    'node-2',
    JSON.stringify({ ...info, gpus: [0, 1, 2, 3], gpuHolds: HOLDS }),
  );
});
afterAll(() => api.close());

async function trackers(key: string): Promise<{ body: string; byName: Map<string, TrackerView> }> {
  const res = await api.app.inject({ url: '/v1/trackers?queue=shared', headers: auth(key) });
  expect(res.statusCode, res.body).toBe(200);
  const list = res.json<{ trackers: TrackerView[] }>().trackers;
  return { body: res.body, byName: new Map(list.map((t) => [t.name, t])) };
}

describe('GET /v1/trackers and tenants', () => {
  it('shows an admin every task with its tenant, and every hold whole', async () => {
    const { byName } = await trackers(KEYS.admin);
    const node = byName.get('node-1');
    expect(
      node?.gpus.map(({ id, taskId, tenant, othersTask }) => ({ id, taskId, tenant, othersTask })),
    ).toEqual([
      { id: 0, taskId: ids.aliceGpu, tenant: 'alice', othersTask: false },
      { id: 1, taskId: ids.bobGpu, tenant: 'bob', othersTask: false },
    ]);
    expect(node?.cpuTasks).toEqual([ids.aliceCpu, ids.bobCpu, ids.gone]);
    expect(node?.cpuSlotTasks).toEqual([
      { taskId: ids.aliceCpu, tenant: 'alice', othersTask: false },
      { taskId: ids.bobCpu, tenant: 'bob', othersTask: false },
      // Its record is gone: the id is shown, no tenant.
      { taskId: ids.gone, tenant: null, othersTask: false },
    ]);
    expect(byName.get('node-2')?.gpus.map((g) => g.hold)).toEqual(
      HOLDS.map(({ index: _index, ...hold }) => hold),
    );
  });

  it('shows a user key its own tasks, and of other tenants’ only that one runs there', async () => {
    const { body, byName } = await trackers(KEYS.alice);
    const node = byName.get('node-1');
    expect(
      node?.gpus.map(({ id, taskId, tenant, othersTask }) => ({ id, taskId, tenant, othersTask })),
    ).toEqual([
      { id: 0, taskId: ids.aliceGpu, tenant: 'alice', othersTask: false },
      { id: 1, taskId: null, tenant: null, othersTask: true },
    ]);
    expect(node?.cpuTasks).toEqual([ids.aliceCpu]);
    expect(node?.cpuSlotTasks).toEqual([
      { taskId: ids.aliceCpu, tenant: 'alice', othersTask: false },
      { taskId: null, tenant: null, othersTask: true },
      { taskId: null, tenant: null, othersTask: true },
    ]);
    for (const hidden of [ids.bobGpu, ids.bobCpu, ids.gone, '"bob"']) expect(body).not.toContain(hidden);

    const bob = (await trackers(KEYS.bob)).byName.get('node-1');
    expect(bob?.gpus.map((g) => [g.taskId, g.othersTask])).toEqual([
      [null, true],
      [ids.bobGpu, false],
    ]);
    expect(bob?.cpuTasks).toEqual([ids.bobCpu]);
  });

  it('names no process nor task to a user key: holds without pids or names, reasons in general words', async () => {
    const { body, byName } = await trackers(KEYS.alice);
    expect(byName.get('node-2')?.gpus.map((g) => g.hold)).toEqual([
      { kind: 'busy', reason: 'used by a process this tracker did not start' },
      // An operator's drain names no process: its reason stays.
      { kind: 'drained', reason: 'fan replaced on Tuesday' },
      { kind: 'settling', reason: 'the processes of the task that last had it have not left it yet' },
      { kind: 'drained', reason: 'the processes of the task that last had it did not leave it in time' },
    ]);
    for (const hidden of [PYTHON.name, '4242', '06h4cm75tffp8gadx8w0v1585g'])
      expect(body).not.toContain(hidden);
  });
});
