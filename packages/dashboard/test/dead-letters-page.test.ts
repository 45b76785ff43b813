// The dead-letters page in a real Chromium against a real API, Redis and trackers. A dead task made
// as the fleet makes one: a 3-GPU task accepted while a 3-GPU tracker was live (drained, so it did
// not take it) ends dead UNSCHEDULABLE once that tracker leaves, by the 2-GPU tracker's sweep.
// Recent failures apart: a probe that exits 3 (EXIT_NONZERO) and one past its time limit
// (TIME_LIMIT). Each shows why; Retry says why it cannot while no tracker can run the task, and
// once one joins submits it again and links to the new task, as it does for a failed one.
// Another tenant's user sees none of them; the admin sees them with their tenant.
import { GpufleetClient } from '@gpufleet/api-client';
import { fakeGpu, useRedis, useTempDirs } from '@gpufleet/testkit';
import type { Tracker } from '@gpufleet/tracker';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, signIn, useBrowser } from './helpers/browser.js';
import { KEYS, startDashboardFleet, type DashboardFleet } from './helpers/dashboard-fleet.js';
import { startExtraTracker } from './helpers/extra-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
const chrome = useBrowser();
const BIG = [fakeGpu('H100', 0), fakeGpu('H100', 1), fakeGpu('H100', 2)];
let fleet: DashboardFleet;
const extra: Tracker[] = [];

beforeAll(async () => {
  fleet = await startDashboardFleet(redis.server, temp, { trackerEnv: { GPUFLEET_UNSCHEDULABLE_MS: '500' } });
});
afterAll(async () => {
  for (const tracker of extra) await tracker.close();
  await fleet?.close();
});

async function bigTracker(name: string): Promise<Tracker> {
  const tracker = await startExtraTracker(redis.server, temp, { prefix: fleet.prefix, name, gpus: BIG });
  extra.push(tracker);
  return tracker;
}

const row = (page: Page, id: string) => page.locator(`tr[data-task="${id}"]`);

describe('the dead-letters page', () => {
  it('shows a dead task and recent failures with why, and retries them as new tasks', async () => {
    const alice = new GpufleetClient({ url: fleet.url, token: KEYS.alice });
    const admin = new GpufleetClient({ url: fleet.url, token: KEYS.admin });

    // A 3-GPU tracker, drained: the API accepts a 3-GPU task, which then waits.
    const big = await bigTracker('big-node-1');
    const drained = new Promise<void>((resolve) => big.once('drain-changed', () => resolve()));
    await admin.drain(big.name, { reason: 'maintenance' });
    await drained;
    const wide = await alice.submit({ executer: 'probe', gpus: 3, name: 'wide-run' });
    // It leaves: no live tracker has 3 GPUs, and the 2-GPU tracker's sweep ends the task dead.
    await big.close();
    await expect(wide.wait({ timeoutMs: 20_000 })).resolves.toMatchObject({
      status: 'dead',
      errorCode: 'UNSCHEDULABLE',
    });
    const broken = await alice.submit({
      executer: 'probe',
      gpus: 1,
      name: 'broken-run',
      params: { exitCode: 3 },
    });
    const slow = await alice.submit({
      executer: 'probe',
      gpus: 1,
      name: 'slow-run',
      timeLimitMs: 1000,
      params: { sleepMs: 30_000 },
    });
    await expect(broken.wait({ timeoutMs: 20_000 })).resolves.toMatchObject({ status: 'failed' });
    await expect(slow.wait({ timeoutMs: 20_000 })).resolves.toMatchObject({ status: 'timed_out' });

    const page = await chrome.page();
    await signIn(page, fleet.url, KEYS.alice, '#/dead-letters');
    const dead = page.getByRole('table', { name: 'Dead' });
    const failed = page.getByRole('table', { name: 'Failed and timed out' });
    const deadRow = dead.locator(`tr[data-task="${wide.id}"]`);
    await deadRow.waitFor();
    await expect(deadRow.textContent()).resolves.toMatch(
      /wide-run.*UNSCHEDULABLE.*needs 3 GPUs, but the largest live tracker of queue "default" has 2/,
    );
    await expect(deadRow.getByRole('link', { name: wide.id }).getAttribute('href')).resolves.toBe(
      `#/tasks/${wide.id}`,
    );
    await expect(dead.locator('tbody tr').count()).resolves.toBe(1);
    await expect(failed.locator(`tr[data-task="${broken.id}"] .failure`).textContent()).resolves.toBe(
      'EXIT_NONZERO',
    );
    await expect(failed.locator(`tr[data-task="${slow.id}"] .failure`).textContent()).resolves.toBe(
      'TIME_LIMIT',
    );
    await expect(failed.locator(`tr[data-task="${slow.id}"]`).textContent()).resolves.toMatch(/time limit/);
    await expect(failed.locator('tbody tr').count()).resolves.toBe(2);
    await screenshot(page, 'dead-letters');

    // Retry while no tracker can run it: the API's refusal, said under the row.
    await deadRow.getByRole('button', { name: 'Retry wide-run' }).click();
    await dead
      .getByRole('alert')
      .getByText(/Could not retry wide-run: no live tracker of queue "default" can run this task/)
      .waitFor();
    await screenshot(page, 'dead-letters-retry-refused');

    // A 3-GPU tracker joins: Retry submits it again, a new task that runs there.
    await bigTracker('big-node-2');
    await deadRow.getByRole('button', { name: 'Retry wide-run' }).click();
    const retried = deadRow.getByRole('status').getByRole('link');
    const again = (await retried.textContent()) ?? '';
    expect(again).not.toBe(wide.id);
    await expect(alice.task(again).wait({ timeoutMs: 20_000 })).resolves.toMatchObject({
      status: 'succeeded',
      name: 'wide-run',
      gpus: 3,
      tracker: 'big-node-2',
    });

    // The failed one too, with its parameters; the link opens the new task.
    await row(page, broken.id).getByRole('button', { name: 'Retry broken-run' }).click();
    const link = row(page, broken.id).getByRole('status').getByRole('link');
    const copy = (await link.textContent()) ?? '';
    await expect(alice.getTask(copy)).resolves.toMatchObject({ name: 'broken-run', params: { exitCode: 3 } });
    await screenshot(page, 'dead-letters-retried');
    await link.click();
    await page.waitForURL((url) => url.hash === `#/tasks/${copy}`);
    await page.context().close();

    // Bob has neither dead tasks nor failures; the admin sees alice's, with her tenant.
    const bobPage = await chrome.page();
    await signIn(bobPage, fleet.url, KEYS.bob, '#/dead-letters');
    await bobPage.getByText('No dead tasks: nothing was given up on.').waitFor();
    await bobPage.getByText('No recent failures.').waitFor();
    await bobPage.context().close();
    const adminPage = await chrome.page();
    await signIn(adminPage, fleet.url, KEYS.admin, '#/dead-letters');
    const adminRow = adminPage.getByRole('table', { name: 'Dead' }).locator(`tr[data-task="${wide.id}"]`);
    await expect(adminRow.locator('td').nth(1).textContent()).resolves.toBe('alice');
    await screenshot(adminPage, 'dead-letters-admin');
    await adminPage.context().close();
  }, 90_000);
});
