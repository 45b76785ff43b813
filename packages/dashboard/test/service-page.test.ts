// Service tasks in the dashboard, in a real Chromium against the real API, Redis and a tracker that
// has the tracker tests' service executers (test/fixtures/services: `svc-tcp`, ready once its TCP
// port accepts, restarted twice) and advertises its endpoints under a host of its own. A person
// opens a service task's page while it waits and watches, without a reload, its service start,
// become ready with its endpoints (copied with a button) and its uptime growing, sees the
// endpoint in the tasks list, then cancels it: the endpoints go and the service reads cancelled.
// A service that keeps exiting shows its restarts counting up, live, and why, in the timeline too.
// The tracker has one CPU slot: a service holding it keeps the task under test queued until the
// page is open, so the page sees every change.
import { GpufleetClient, type TaskStatus } from '@gpufleet/api-client';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, signIn, useBrowser } from './helpers/browser.js';
import {
  KEYS,
  SERVICE_EXECUTERS,
  startDashboardFleet,
  type DashboardFleet,
} from './helpers/dashboard-fleet.js';

const HOST = 'svc-host.example';
const redis = useRedis();
const temp = useTempDirs();
const chrome = useBrowser();
let fleet: DashboardFleet;
let alice: GpufleetClient;

beforeAll(async () => {
  fleet = await startDashboardFleet(redis.server, temp, {
    executerPaths: [SERVICE_EXECUTERS],
    trackerEnv: { GPUFLEET_ADVERTISE_HOST: HOST },
  });
  alice = new GpufleetClient({ url: fleet.url, token: KEYS.alice });
}, 60_000);
afterAll(async () => {
  await fleet?.close();
});

/** Runs a service that holds the tracker's one CPU slot; the function returned cancels it. */
async function holdSlot(): Promise<() => Promise<void>> {
  const holder = await alice.submit({ executer: 'svc-tcp', gpus: 0, name: 'slot-holder', params: {} });
  await waitFor(async () => (await alice.getTask(holder.id)).service?.state === 'ready', {
    timeoutMs: 20_000,
    message: 'the slot holder is ready',
  });
  return async () => void (await alice.cancel(holder.id));
}

/** Opens task `id`'s page signed in as alice, marked so that a reload would show. */
async function openTask(id: string): Promise<Page> {
  const page = await chrome.page();
  await signIn(page, fleet.url, KEYS.alice, `#/tasks/${id}`);
  await page.locator('.task-head').waitFor();
  await page.evaluate(() => Object.assign(globalThis, { openedOnce: true }));
  return page;
}

const neverReloaded = (page: Page): Promise<boolean> => page.evaluate(() => 'openedOnce' in globalThis);

const headerStatus = (page: Page, status: TaskStatus) => page.locator(`.task-head [data-status="${status}"]`);

/** The service panel, once its state (a service state, or the task's status once it stopped) is `state`. */
const servicePanel = (page: Page, state: string) =>
  page.locator(`section.service-panel[data-state="${state}"]`);

/** Saves the page as test-output/screenshots/<name>.png, from its top. */
async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)');
  await screenshot(page, name);
}

describe('a service task in the dashboard', () => {
  it('shows it starting, then live its endpoints and uptime, and in the list; none once cancelled', async () => {
    const release = await holdSlot();
    const task = await alice.submit({
      executer: 'svc-tcp',
      gpus: 0,
      name: 'svc-demo',
      params: { readyDelayMs: 1500 },
    });
    const page = await openTask(task.id);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: fleet.url });
    await headerStatus(page, 'queued').waitFor();
    expect(await page.locator('section.service-panel').count()).toBe(0);

    await release();
    const starting = servicePanel(page, 'starting');
    await starting.waitFor();
    expect(await starting.locator('[data-service-state="starting"]').count()).toBe(1);
    expect(await starting.locator('.endpoints li').count()).toBe(0);
    await shot(page, 'service-starting');

    const ready = servicePanel(page, 'ready');
    await ready.waitFor();
    const endpoints = ready.getByRole('list', { name: 'Endpoints' });
    await endpoints.waitFor();
    const view = await alice.getTask(task.id);
    const published = view.service?.endpoints ?? {};
    expect(Object.keys(published).sort()).toEqual(['control', 'http']);
    for (const [name, address] of Object.entries(published)) {
      expect(address).toMatch(new RegExp(`^${HOST.replace(/\./g, '\\.')}:\\d+$`));
      const item = endpoints.locator(`li[data-endpoint="${name}"]`);
      expect(await item.locator('.endpoint-name').textContent()).toBe(name);
      expect(await item.locator('.endpoint-address').textContent()).toBe(address);
    }
    // Its uptime ticks: a later second than the first one read.
    const uptime = ready.locator('.uptime');
    const seconds = async (): Promise<number> =>
      Number(/^ready for (\d+) s$/.exec((await uptime.textContent()) ?? '')?.[1] ?? NaN);
    const first = await seconds();
    expect(first).toBeGreaterThanOrEqual(0);
    await waitFor(async () => (await seconds()) >= first + 2, { message: 'the uptime ticks' });
    // The timeline tells the changes under the running step.
    const changes = page.locator('.timeline .step[data-status="running"] .service-changes');
    await changes.locator('[data-service-state="starting"]').waitFor();
    await changes.locator('[data-service-state="ready"]').waitFor();

    const control = published['control'] as string;
    await endpoints.getByRole('button', { name: `Copy control ${control}` }).click();
    await endpoints
      .getByRole('button', { name: `Copy control ${control}` })
      .filter({ hasText: 'Copied' })
      .waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(control); // typed without the DOM
    await shot(page, 'service-ready');

    // The tasks list: its first endpoint and uptime under its status.
    const list = await chrome.page();
    await signIn(list, fleet.url, KEYS.alice, '#/tasks');
    const line = list.locator(`tr[data-task="${task.id}"] .service-line`);
    await line.locator('.endpoint', { hasText: Object.values(published)[0] as string }).waitFor();
    expect(await line.textContent()).toMatch(/\+1 · up \d+ s/);
    await shot(list, 'tasks-service');

    await alice.cancel(task.id);
    const cancelled = servicePanel(page, 'cancelled');
    await cancelled.waitFor();
    await headerStatus(page, 'cancelled').waitFor();
    expect(await cancelled.locator('[data-status="cancelled"]').count()).toBe(1);
    expect(await page.locator('.service-panel .endpoints').count()).toBe(0);
    expect(await page.locator('.service-panel').textContent()).not.toContain(control);
    expect(await neverReloaded(page)).toBe(true);
    await shot(page, 'service-cancelled');
    // The list drops the endpoint at its next read.
    await line.waitFor({ state: 'detached' });
    await list.context().close();
    await page.context().close();
  }, 90_000);

  it('shows a service that keeps exiting restart, its restarts counting up live, then fail', async () => {
    const release = await holdSlot();
    // Exits 2 s after each start; svc-tcp restarts it twice, then the task fails.
    const task = await alice.submit({
      executer: 'svc-tcp',
      gpus: 0,
      name: 'svc-flaky',
      params: { exitAfterMs: 2000 },
    });
    const page = await openTask(task.id);
    await headerStatus(page, 'queued').waitFor();
    await release();

    const panel = page.locator('section.service-panel');
    const restarts = panel.locator('.restarts');
    await restarts.filter({ hasText: /^0$/ }).waitFor();
    await restarts.filter({ hasText: /^1$/ }).waitFor();
    await restarts.filter({ hasText: /^2$/ }).waitFor();
    await shot(page, 'service-restarting');

    await headerStatus(page, 'failed').waitFor();
    await servicePanel(page, 'failed').waitFor();
    expect(await restarts.textContent()).toBe('2');
    expect(await panel.locator('.endpoints').count()).toBe(0);
    const changes = page.locator('.timeline .step[data-status="running"] .service-changes');
    const restarting = changes.locator('[data-service-state="restarting"]');
    expect(await restarting.count()).toBe(2);
    expect(await restarting.first().textContent()).toContain('restarting: the service exited with code 7');
    expect(await changes.locator('[data-service-state="ready"]').count()).toBeGreaterThanOrEqual(1);
    expect(await neverReloaded(page)).toBe(true);
    await shot(page, 'service-failed');
    await page.context().close();
  }, 60_000);
});
