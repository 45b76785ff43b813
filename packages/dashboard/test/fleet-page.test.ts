// The fleet and queues pages in a real Chromium against a real API, Redis and tracker (GPUs from a
// fake nvidia-smi: nothing ran on a GPU). The fleet page: a GPU cell changes, without a reload,
// from free to the task that runs on it (its id and tenant, to an admin), shows the usage the
// tracker samples and a foreign process that holds a GPU back; another tenant's user sees that
// the GPU runs a task but neither its id nor its tenant. The queues page: what waits by GPU count,
// the tenants' shares and the last hour's charts.
import { GpufleetClient } from '@gpufleet/api-client';
import { fakeGpu, fakeMachine, useRedis, useTempDirs } from '@gpufleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, signIn, useBrowser } from './helpers/browser.js';
import { KEYS, startDashboardFleet, type DashboardFleet } from './helpers/dashboard-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const chrome = useBrowser();
const GPUS = [fakeGpu('H100', 0), fakeGpu('H100', 1)];
let fleet: DashboardFleet;

beforeAll(async () => {
  fleet = await startDashboardFleet(redis.server, temp, {
    gpus: GPUS,
    trackerEnv: { GPUFLEET_GPU_CHECK_MS: '300' },
  });
});
afterAll(async () => {
  await fleet?.close();
});

describe('the fleet page', () => {
  it(
    'shows a GPU taken by a task live, its usage, and a foreign process holding the other back',
    { timeout: 60_000 },
    async () => {
      const alice = new GpufleetClient({ url: fleet.url, token: KEYS.alice });
      const page = await chrome.page();
      await signIn(page, fleet.url, KEYS.admin);
      const tracker = page.getByRole('article', { name: `tracker ${fleet.tracker.name}` });
      await tracker.getByText('live', { exact: true }).waitFor();
      const gpu0 = tracker.locator('li.gpu[data-gpu="0"]');
      await expect(gpu0.getAttribute('aria-label')).resolves.toBe('GPU 0: free');
      await expect(gpu0.textContent()).resolves.toContain('H100 80GB HBM3');

      const task = await alice.submit({ executer: 'probe', gpus: 1, params: { sleepMs: 60_000 } });
      await gpu0.locator(`a[href="#/tasks/${task.id}"]`).waitFor();
      await expect(gpu0.getAttribute('aria-label')).resolves.toBe('GPU 0: running');
      await expect(gpu0.locator('.tenant').textContent()).resolves.toBe('tenant alice');

      // The tracker samples usage every 500 ms; the page shows the next sample.
      await fleet.smi.setState(
        fakeMachine(
          [
            { ...(GPUS[0] as (typeof GPUS)[number]), utilizationGpu: 87, memoryUsedMiB: 40_960 },
            GPUS[1] as (typeof GPUS)[number],
          ],
          {
            computeApps: [
              {
                pid: 4242,
                processName: 'jupyter-kernel',
                usedMemoryMiB: 3000,
                gpuUuid: (GPUS[1] as (typeof GPUS)[number]).uuid,
              },
            ],
          },
        ),
      );
      await gpu0.getByRole('meter', { name: 'util' }).and(page.locator('[aria-valuenow="87"]')).waitFor();
      await expect(gpu0.getByRole('meter', { name: 'mem' }).getAttribute('aria-valuetext')).resolves.toBe(
        '40 GiB of 80 GiB',
      );
      const gpu1 = tracker.locator('li.gpu[data-gpu="1"]');
      await gpu1.and(page.locator('[aria-label="GPU 1: busy"]')).waitFor();
      await expect(gpu1.textContent()).resolves.toContain('jupyter-kernel (pid 4242, 3000 MiB)');
      await screenshot(page, 'fleet-admin');

      // Bob sees that GPU 0 runs a task, not whose nor which; nor the foreign process's name.
      const bobPage = await chrome.page();
      await signIn(bobPage, fleet.url, KEYS.bob);
      const bobGpu0 = bobPage.locator('li.gpu[data-gpu="0"]');
      await bobGpu0.getByText('another tenant’s task').waitFor();
      expect(await bobGpu0.locator('a').count()).toBe(0);
      await expect(bobPage.locator('li.gpu[data-gpu="1"]').textContent()).resolves.not.toContain('jupyter');
      await screenshot(bobPage, 'fleet-user');

      await fleet.smi.setState(fakeMachine(GPUS));
      await alice.cancel(task.id);
      await gpu0.and(page.locator('[aria-label="GPU 0: free"]')).waitFor();
      await gpu1.and(page.locator('[aria-label="GPU 1: free"]')).waitFor();
      await page.context().close();
      await bobPage.context().close();
    },
  );
});

describe('the queues page', () => {
  it('shows what waits by GPU count, the tenants, and the last hour', { timeout: 60_000 }, async () => {
    const alice = new GpufleetClient({ url: fleet.url, token: KEYS.alice });
    const bob = new GpufleetClient({ url: fleet.url, token: KEYS.bob });
    // A task that ends, for the hour's charts; then, on the one CPU slot, one runs and two wait.
    await (await alice.submit({ executer: 'probe', gpus: 1, params: { sleepMs: 0 } })).wait();
    const ids = [
      (await alice.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 60_000 } })).id,
      (await alice.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 60_000 } })).id,
      (await bob.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 60_000 } })).id,
    ];
    const page = await chrome.page();
    await signIn(page, fleet.url, KEYS.admin, '#/queues');
    const queue = page.getByRole('article', { name: 'Queue default' });
    await queue.getByText('Waiting, CPU').waitFor();
    const cpuWaiting = queue.locator('dt:has-text("Waiting, CPU") + dd');
    await expect(cpuWaiting.textContent()).resolves.toBe('2');
    const tenants = queue.getByRole('table', { name: 'tenants of queue default' });
    await tenants.getByRole('rowheader', { name: 'bob' }).waitFor();
    await tenants.getByRole('rowheader', { name: 'alice' }).waitFor();
    await expect(queue.locator('figure.chart canvas').count()).resolves.toBe(3);
    await queue.getByText('Tasks ended per minute').waitFor();
    await screenshot(page, 'queues');
    await Promise.all(ids.map((id) => alice.cancel(id).catch(() => bob.cancel(id))));
    await page.context().close();
  });
});
