// The tasks page in a real Chromium against a real API, Redis and tracker (probe tasks on the GPUs
// of a fake nvidia-smi). Filters narrow the table and live in the URL (a reload keeps them, the
// back button returns to them); the search box opens a task by id and lists tasks by the start of
// their name; paging goes past the first 50 and back; several queued and running tasks are ticked
// (the ticks survive the page's refresh) and cancelled together; a user key lists its own tenant's
// tasks only, an admin key every tenant's, with the tenant filter. Each test scopes its tasks by a
// `suite` tag, since they share the fleet.
import { GpufleetClient, type TaskSpec } from '@gpufleet/api-client';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, signIn, useBrowser } from './helpers/browser.js';
import { KEYS, startDashboardFleet, type DashboardFleet } from './helpers/dashboard-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const chrome = useBrowser();
let fleet: DashboardFleet;
let alice: GpufleetClient;

beforeAll(async () => {
  // The admin's tenant's (ops) finished tasks leave Redis for the archive at once (the archive test).
  fleet = await startDashboardFleet(redis.server, temp, {
    trackerEnv: { GPUFLEET_TENANT_RETENTION: 'ops=1s', GPUFLEET_RETENTION_SWEEP_MS: '300' },
  });
  alice = new GpufleetClient({ url: fleet.url, token: KEYS.alice });
});
afterAll(async () => {
  await fleet?.close();
});

const probe = (
  suite: string,
  spec: Partial<TaskSpec> & { params?: Record<string, unknown> } = {},
): TaskSpec => ({
  executer: 'probe',
  gpus: 1,
  ...spec,
  tags: { suite, ...spec.tags },
});

/** The ids of the table's rows, top to bottom. */
const rowIds = (page: Page): Promise<string[]> =>
  page
    .locator('table[aria-label="Tasks"] tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task') ?? ''));

/** Waits until the table lists exactly `ids`, in that order. */
async function expectRows(page: Page, ids: string[]): Promise<void> {
  await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual(ids);
}

const hashQuery = (page: Page): URLSearchParams =>
  new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '');

describe('the tasks page', () => {
  it('narrows the table by tag, status, name and executer, keeps the filters in the URL, and searches', async () => {
    const submit = async (spec: TaskSpec): Promise<string> => {
      const task = await alice.submit(spec);
      await task.wait({ timeoutMs: 20_000 });
      return task.id;
    };
    const lr1 = await submit(probe('filters', { name: 'sweep-lr-1', tags: { sweep: 'lr' } }));
    const lr2 = await submit(
      probe('filters', { name: 'sweep-lr-2', tags: { sweep: 'lr' }, params: { exitCode: 3 } }),
    );
    const other = await submit(probe('filters', { name: 'other-run', tags: { sweep: 'dx' } }));

    const page = await chrome.page();
    await signIn(page, fleet.url, KEYS.alice, '#/tasks');
    await page.getByLabel('Tags', { exact: true }).fill('suite=filters');
    await page.getByLabel('Tags', { exact: true }).press('Enter');
    await expectRows(page, [other, lr2, lr1]);
    expect(hashQuery(page).getAll('tag')).toEqual(['suite=filters']);

    await page.getByRole('group', { name: 'Status' }).getByText('failed', { exact: true }).click();
    await expectRows(page, [lr2]);
    await expect(page.locator(`tr[data-task="${lr2}"] .failure`).textContent()).resolves.toBe('EXIT_NONZERO');
    await page.getByRole('group', { name: 'Status' }).getByText('failed', { exact: true }).click();
    await expectRows(page, [other, lr2, lr1]);

    await page.getByLabel('Name', { exact: true }).fill('sweep-lr-*');
    await page.getByLabel('Name', { exact: true }).press('Enter');
    await expectRows(page, [lr2, lr1]);
    await page.getByLabel('Executer', { exact: true }).selectOption('sph');
    await expectRows(page, []);
    await page.getByText('No tasks match these filters.').waitFor();
    await screenshot(page, 'tasks-empty-filtered');
    await page.getByLabel('Executer', { exact: true }).selectOption('probe');
    await expectRows(page, [lr2, lr1]);
    expect(Object.fromEntries(hashQuery(page))).toMatchObject({ executer: 'probe', name: 'sweep-lr-*' });

    // A reload (or a bookmark) shows the same view, its controls set as they were.
    await page.reload();
    await expectRows(page, [lr2, lr1]);
    await expect(page.getByLabel('Name', { exact: true }).inputValue()).resolves.toBe('sweep-lr-*');
    await expect(page.getByLabel('Executer', { exact: true }).inputValue()).resolves.toBe('probe');
    await page.getByRole('button', { name: 'Remove tag suite=filters' }).waitFor();
    await screenshot(page, 'tasks-filtered');

    // An id opens the task; back returns to the filtered list.
    await page.getByLabel('Find a task').fill(other);
    await page.getByLabel('Find a task').press('Enter');
    await page.waitForURL((url) => url.hash === `#/tasks/${other}`);
    await page.goBack();
    await expectRows(page, [lr2, lr1]);

    // Anything else lists the tasks whose name starts with it.
    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await page.getByLabel('Find a task').fill('other');
    await page.getByLabel('Find a task').press('Enter');
    await expectRows(page, [other]);
    await expect(page.getByLabel('Name', { exact: true }).inputValue()).resolves.toBe('other*');
    await page.context().close();
  }, 60_000);

  it('pages past the first 50 tasks and back', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 55; i++)
      ids.push((await alice.submit(probe('paging', { name: `page-${i}`, gpus: 0 }))).id);
    // Newest first as the API orders them (two submitted within a millisecond go by id).
    const listed = await alice.listTasks({ tag: ['suite=paging'], limit: 200 });
    const newestFirst = listed.items.map((t) => t.id);
    expect([...newestFirst].sort()).toEqual([...ids].sort());

    const page = await chrome.page();
    await signIn(page, fleet.url, KEYS.alice, '#/tasks?tag=suite=paging');
    await expectRows(page, newestFirst.slice(0, 50));
    await page.getByText('Page 1 · 50 tasks').waitFor();
    await expect(page.getByRole('button', { name: 'Previous' }).isDisabled()).resolves.toBe(true);

    await page.getByRole('button', { name: 'Next' }).click();
    await expectRows(page, newestFirst.slice(50));
    await page.getByText('Page 2 · 5 tasks · the end').waitFor();
    await expect(page.getByRole('button', { name: 'Next' }).isDisabled()).resolves.toBe(true);
    await screenshot(page, 'tasks-page-2');

    await page.getByRole('button', { name: 'Previous' }).click();
    await expectRows(page, newestFirst.slice(0, 50));
    await page.context().close();
  }, 60_000);

  it('cancels several queued and running tasks at once, keeping the ticks across refreshes', async () => {
    const done = await alice.submit(probe('cancel', { name: 'finished' }));
    await done.wait({ timeoutMs: 20_000 });
    const long: string[] = [];
    for (let i = 0; i < 4; i++)
      long.push((await alice.submit(probe('cancel', { name: `long-${i}`, params: { sleepMs: 60_000 } }))).id);

    const page = await chrome.page();
    await signIn(page, fleet.url, KEYS.alice, '#/tasks?tag=suite=cancel');
    const table = page.getByRole('table', { name: 'Tasks' });
    // Two run (one per GPU), two wait; the finished task has no checkbox.
    await expect.poll(() => table.getByText('running', { exact: true }).count(), { timeout: 15_000 }).toBe(2);
    await expect(page.locator(`tr[data-task="${done.id}"] input[type=checkbox]`).count()).resolves.toBe(0);
    await page.getByLabel('Select all 4 tasks on this page that can be cancelled').check();
    await page.getByRole('button', { name: 'Cancel 4 selected' }).waitFor();

    // The page is read again every 5 s: the ticks stay.
    const readAt = await page.locator('.live-note').textContent();
    await expect.poll(() => page.locator('.live-note').textContent(), { timeout: 15_000 }).not.toBe(readAt);
    await expect(page.locator('tbody input[type=checkbox]:checked').count()).resolves.toBe(4);

    await page.getByRole('button', { name: 'Cancel 4 selected' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel 4 tasks?' });
    await dialog.waitFor();
    await screenshot(page, 'tasks-cancel-confirm');
    await dialog.getByRole('button', { name: 'Cancel 4 tasks' }).click();
    const results = page.getByRole('status', { name: 'Cancel results' });
    await results.getByText('2 tasks cancelled, 2 tasks being stopped by their trackers').waitFor();
    await expect
      .poll(() => table.getByText('cancelled', { exact: true }).count(), { timeout: 15_000 })
      .toBe(4);
    await screenshot(page, 'tasks-cancelled');
    for (const id of long) await expect(alice.getTask(id)).resolves.toMatchObject({ status: 'cancelled' });
    await expect(alice.getTask(done.id)).resolves.toMatchObject({ status: 'succeeded' });
    await page.context().close();
  }, 60_000);

  it('lists a user key’s own tenant’s tasks only, and an admin key every tenant’s, with a tenant filter', async () => {
    const bob = new GpufleetClient({ url: fleet.url, token: KEYS.bob });
    const mine = (await alice.submit(probe('tenants', { name: 'alice-task' }))).id;
    const bobs = (await bob.submit(probe('tenants', { name: 'bob-task' }))).id;

    const alicePage = await chrome.page();
    await signIn(alicePage, fleet.url, KEYS.alice, '#/tasks?tag=suite=tenants');
    await expectRows(alicePage, [mine]);
    await expect(alicePage.getByRole('columnheader', { name: 'Tenant' }).count()).resolves.toBe(0);
    await expect(alicePage.getByLabel('Tenant', { exact: true }).count()).resolves.toBe(0);
    // Another tenant's tasks, by URL: refused, and the way back to its own.
    await alicePage.goto(`${fleet.url}/#/tasks?tag=suite=tenants&tenant=bob`);
    await alicePage.getByRole('alert').getByText('may not list those tasks').waitFor();
    await screenshot(alicePage, 'tasks-tenant-refused');
    await alicePage.getByRole('button', { name: 'List my tenant’s tasks' }).click();
    await expectRows(alicePage, [mine]);

    const adminPage = await chrome.page();
    await signIn(adminPage, fleet.url, KEYS.admin, '#/tasks?tag=suite=tenants');
    await expectRows(adminPage, [bobs, mine]);
    await expect(
      adminPage.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.children[5]?.textContent)),
    ).resolves.toEqual(['bob', 'alice']);
    await screenshot(adminPage, 'tasks-admin');
    await adminPage.getByLabel('Tenant', { exact: true }).fill('bob');
    await adminPage.getByLabel('Tenant', { exact: true }).press('Enter');
    await expectRows(adminPage, [bobs]);
    expect(hashQuery(adminPage).get('tenant')).toBe('bob');
    await adminPage.reload();
    await expectRows(adminPage, [bobs]);
    await alicePage.context().close();
    await adminPage.context().close();
  }, 60_000);

  it('lists archived tasks of a range of days apart from the current ones', async () => {
    const ops = new GpufleetClient({ url: fleet.url, token: KEYS.admin });
    const task = await ops.submit(probe('archive', { name: 'archived-run' }));
    await task.wait({ timeoutMs: 20_000 });
    await waitFor(async () => (await ops.getTask(task.id)).archived, {
      timeoutMs: 15_000,
      message: 'archived',
    });

    const page = await chrome.page();
    await signIn(page, fleet.url, KEYS.admin, '#/tasks?tag=suite=archive');
    await page.getByText('No tasks match these filters.').waitFor();
    await page.getByRole('radio', { name: /Archived/ }).check();
    await expectRows(page, [task.id]);
    const query = hashQuery(page);
    expect(query.get('archived')).toBe('1');
    expect(query.get('to')).toBe(new Date().toISOString().slice(0, 10));
    await page.getByRole('table', { name: 'Tasks' }).getByText('succeeded', { exact: true }).waitFor();
    await screenshot(page, 'tasks-archived');

    // Days before it ended hold none of it.
    await page.getByLabel('Ended from', { exact: true }).fill('2020-01-01');
    await page.getByLabel('to', { exact: true }).fill('2020-01-20');
    await expectRows(page, []);
    expect(hashQuery(page).get('to')).toBe('2020-01-20');
    await page.getByRole('radio', { name: /Current/ }).check();
    await expectRows(page, []);
    expect(hashQuery(page).has('from')).toBe(false); // the archive's range does not carry over
    await page.context().close();
  }, 60_000);

  it('narrows the current tasks to those created within a range of days', async () => {
    const alice = new GpufleetClient({ url: fleet.url, token: KEYS.alice });
    const task = await alice.submit(probe('created'));
    const page = await chrome.page();
    await signIn(page, fleet.url, KEYS.alice, '#/tasks?tag=suite=created');
    await expectRows(page, [task.id]);
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('Created from', { exact: true }).fill(tomorrow);
    await expectRows(page, []);
    expect(hashQuery(page).get('from')).toBe(tomorrow);
    await page.getByLabel('Created from', { exact: true }).fill(today);
    await page.getByLabel('to', { exact: true }).fill(today);
    await expectRows(page, [task.id]);
    await page.reload();
    await expectRows(page, [task.id]);
    await page.context().close();
  }, 60_000);
});
