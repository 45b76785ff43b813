// The task page, in a real Chromium against the real API, Redis and a tracker: a person opens a
// task while it waits and watches it start, write its output and succeed without reloading; opens
// the image and the CSV an `sph` run wrote and downloads its outputs as a zip; reads a long log
// whose start the page dropped and downloads it whole; cancels a running task and submits it
// again, and submits a task with input files again; and another tenant's key finds nothing. A task
// submitted after another shows the link to it and why it waits (Dependency) until that one ends. Tasks are submitted with the client library;
// scripts that wait for a file the test writes make "queued" and "running" last as long as needed.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GpufleetClient, isFinalStatus, type TaskStatus } from '@gpufleet/api-client';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, signIn, useBrowser } from './helpers/browser.js';
import { KEYS, startDashboardFleet, type DashboardFleet } from './helpers/dashboard-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const chrome = useBrowser();
let fleet: DashboardFleet;
let alice: GpufleetClient;

beforeAll(async () => {
  fleet = await startDashboardFleet(redis.server, temp);
  alice = new GpufleetClient({ url: fleet.url, token: KEYS.alice });
}, 60_000);
afterAll(async () => {
  await fleet?.close();
});

/** A folder holding `files` (a job for the `script` executer). */
async function job(files: Record<string, string>): Promise<string> {
  const dir = await temp.make();
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)));
  return dir;
}

/** A script that prints `before`, waits until file $1 exists, then prints `after` and runs `then`. */
const waitingScript = (before: string, after: string, then = ''): string =>
  `#!/bin/sh\n${before}\nwhile [ ! -e "$1" ]; do sleep 0.05; done\n${after}\n${then}\n`;

async function statusOf(id: string): Promise<TaskStatus> {
  return (await alice.getTask(id)).status;
}

/** Opens task `id`'s page signed in with `key`. */
async function openTask(id: string, key: string = KEYS.alice): Promise<Page> {
  const page = await chrome.page();
  await signIn(page, fleet.url, key, `#/tasks/${id}`);
  return page;
}

/** The status badge of the page's header, once it says `status`. */
const headerStatus = (page: Page, status: TaskStatus) => page.locator(`.task-head [data-status="${status}"]`);

const logLine = (page: Page, text: string) => page.locator('.log .line', { hasText: text });

/** What the test reads of an <img> (these tests are typed without the DOM). */
interface LoadedImage {
  decode(): Promise<void>;
  naturalWidth: number;
}

/** Saves the page as test-output/screenshots/<name>.png, from its top (the header is sticky). */
async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)'); // a string: these tests are typed without the DOM
  await screenshot(page, name);
}

/** Clicks what `click` names and returns the download it starts. */
async function downloadOf(page: Page, click: () => Promise<void>): Promise<Download> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return download;
}

describe('the task page', () => {
  it('shows a task submitted after another: the link to it, why it waits, and its start once that one ended', async () => {
    const release = join(await temp.make(), 'release');
    const first = await alice.submit(
      { executer: 'script', gpus: 0, params: { script: 'hold.sh', args: [release] } },
      { inputs: [await job({ 'hold.sh': waitingScript('echo first', 'echo released') })] },
    );
    const next = await alice.submit(
      { executer: 'script', gpus: 0, after: first.id, params: { script: 'next.sh' } },
      { inputs: [await job({ 'next.sh': '#!/bin/sh\necho second\n' })] },
    );
    const page = await openTask(next.id);
    await headerStatus(page, 'queued').waitFor();
    const waiting = page.getByRole('region', { name: 'Waiting to start' });
    await waiting.getByText(`submitted to run after task ${first.id}`).waitFor();
    const link = page.locator('.facts a', { hasText: first.id });
    expect(await link.getAttribute('href')).toBe(`#/tasks/${first.id}`);
    await writeFile(release, '');
    await headerStatus(page, 'succeeded').waitFor();
    const [ranFirst, ranNext] = await Promise.all([alice.getTask(first.id), alice.getTask(next.id)]);
    expect(Date.parse(ranNext.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(ranFirst.endedAt ?? ''));
    await page.context().close();
  });

  it('shows a queued task waiting, then it starting, writing its output and succeeding, live', async () => {
    const control = await temp.make();
    const release = join(control, 'release');
    const go = join(control, 'go');
    // The tracker has one CPU slot: this task holds it until `release` exists.
    const blocker = await alice.submit(
      { executer: 'script', gpus: 0, params: { script: 'hold.sh', args: [release] } },
      { inputs: [await job({ 'hold.sh': waitingScript('echo holding the CPU slot', 'echo released') })] },
    );
    await waitFor(async () => (await statusOf(blocker.id)) === 'running', { message: 'the blocker runs' });
    const task = await alice.submit(
      {
        executer: 'script',
        gpus: 0,
        name: 'live-demo',
        params: { script: 'work.sh', args: [go, '{outputDir}'] },
      },
      {
        inputs: [
          await job({
            'work.sh': waitingScript(
              'echo "step 1: loading"\necho "warning: low on patience" >&2',
              'echo "step 2: done"',
              'echo \'{"ok": true}\' > "$2/result.json"',
            ),
          }),
        ],
      },
    );

    const page = await openTask(task.id);
    await page.getByRole('heading', { name: /live-demo/ }).waitFor();
    await headerStatus(page, 'queued').waitFor();
    const waiting = page.getByRole('region', { name: 'Waiting to start' });
    await waiting.waitFor();
    expect(await waiting.textContent()).toMatch(/next in line|tasks? before it/);
    expect(await page.locator('.timeline .step').count()).toBe(1);
    await page.evaluate(() => Object.assign(globalThis, { openedOnce: true }));
    await shot(page, 'task-queued');

    await writeFile(release, '');
    await headerStatus(page, 'running').waitFor();
    await logLine(page, 'step 1: loading').waitFor();
    await page.locator('.log .line.stderr', { hasText: 'warning: low on patience' }).waitFor();
    expect(await logLine(page, 'step 1: loading').getAttribute('data-stream')).toBe('stdout');
    expect(await logLine(page, 'step 2: done').count()).toBe(0);
    expect(await waiting.count()).toBe(0);
    await shot(page, 'task-running');

    await writeFile(go, '');
    await logLine(page, 'step 2: done').waitFor();
    await headerStatus(page, 'succeeded').waitFor();
    await page.getByRole('button', { name: 'Download result.json' }).waitFor();
    const steps = await page
      .locator('.timeline .step')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-status')));
    expect(steps[0]).toBe('queued');
    expect(steps).toContain('running');
    expect(steps.at(-1)).toBe('succeeded');
    expect(await page.evaluate(() => 'openedOnce' in globalThis)).toBe(true); // never reloaded
    await shot(page, 'task-succeeded');
    await page.context().close();
  }, 60_000);

  it('previews the image and a CSV an sph run wrote, and downloads a file and the zip without the key', async () => {
    const task = await alice.submit({
      executer: 'sph',
      gpus: 0,
      params: { particles: 800, steps: 200, outputEvery: 100 },
    });
    expect((await task.wait({ timeoutMs: 50_000 })).status).toBe('succeeded');
    const page = await openTask(task.id);
    const params = page.getByRole('region', { name: 'Parameters' });
    expect(await params.locator('div', { hasText: 'particles' }).locator('dd').textContent()).toBe('800');

    await page.getByRole('button', { name: 'Preview final-frame.png' }).click();
    const image = page.locator('.preview img');
    await image.waitFor();
    const width = await image.evaluate(async (element) => {
      const img = element as unknown as LoadedImage;
      await img.decode(); // resolves once the picture is loaded and decoded, rejects if it cannot be
      return img.naturalWidth;
    });
    expect(width).toBeGreaterThan(0);
    const src = (await image.getAttribute('src')) ?? '';
    expect(src).toMatch(/^blob:/);
    await shot(page, 'task-preview-image');

    await page.getByRole('button', { name: 'Preview frames/frame-00001.csv' }).click();
    const table = page.locator('.preview table.csv');
    await table.waitFor();
    expect(await table.locator('thead th').allTextContents()).toEqual([
      'id',
      'type',
      'x',
      'y',
      'vx',
      'vy',
      'rho',
      'p',
    ]);
    expect(await table.locator('tbody tr').count()).toBe(200);
    expect(await table.locator('tbody tr').first().locator('td').nth(1).textContent()).toBe('fluid');
    expect(await page.locator('.preview').textContent()).toContain('The first 200 rows');
    // The image's blob URL went with its preview.
    expect(
      await page.evaluate(
        (url) =>
          fetch(url).then(
            () => 'kept',
            () => 'revoked',
          ),
        src,
      ),
    ).toBe('revoked');
    await shot(page, 'task-preview-csv');

    await page.getByRole('button', { name: 'Preview summary.json' }).click();
    await page.locator('.preview pre', { hasText: '"case": "dam-break-2d"' }).waitFor();

    const summary = await downloadOf(page, () =>
      page.getByRole('button', { name: 'Download summary.json' }).click(),
    );
    expect(summary.url()).toMatch(/\/v1\/downloads\/[^/]+$/);
    expect(JSON.parse(await readFile(await summary.path(), 'utf8'))).toMatchObject({ executer: 'sph' });

    const zip = await downloadOf(page, () =>
      page.getByRole('button', { name: 'Download all as zip' }).click(),
    );
    expect(zip.url()).toMatch(/\/v1\/downloads\/[^/]+$/);
    expect(zip.url()).not.toContain(KEYS.alice);
    const bytes = await readFile(await zip.path());
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
    expect(bytes.includes(Buffer.from('final-frame.png'))).toBe(true);
    await page.context().close();
  }, 60_000);

  it('keeps the last 5,000 lines of a long log, says what it dropped, and downloads it whole', async () => {
    const task = await alice.submit(
      { executer: 'script', gpus: 0, params: { script: 'count.sh' } },
      { inputs: [await job({ 'count.sh': "#!/bin/sh\nseq -f 'line %g' 1 6000\necho 'counted' >&2\n" })] },
    );
    expect((await task.wait({ timeoutMs: 30_000 })).status).toBe('succeeded');
    const page = await openTask(task.id);
    await logLine(page, 'counted').waitFor();
    await logLine(page, 'line 6000').waitFor();
    expect(await page.locator('.log .line').count()).toBe(5000);
    expect(await logLine(page, 'line 1001').count()).toBe(0); // dropped: 6,001 lines, the last 5,000 kept
    expect(await page.locator('.log-dropped').textContent()).toContain('1,001 earlier lines are not shown');
    await shot(page, 'task-long-log');

    const log = await downloadOf(page, () => page.getByRole('button', { name: 'Download full log' }).click());
    const lines = (await readFile(await log.path(), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(6001);
    expect(lines[0]).toBe('line 1');
    await page.context().close();
  }, 60_000);

  it('cancels a running task after asking, then submits it again and shows the new task', async () => {
    const task = await alice.submit({ executer: 'probe', params: { sleepMs: 60_000 } });
    const page = await openTask(task.id);
    await headerStatus(page, 'running').waitFor();
    await logLine(page, `probe ${task.id} starting`).waitFor();

    await page.getByRole('button', { name: 'Cancel task…' }).click();
    const confirm = page.getByRole('alertdialog');
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Keep it' }).click();
    expect(await statusOf(task.id)).toBe('running');
    await page.getByRole('button', { name: 'Cancel task…' }).click();
    await confirm.getByRole('button', { name: 'Yes, cancel it' }).click();
    await page.getByRole('status').filter({ hasText: 'Cancel requested' }).waitFor();
    await headerStatus(page, 'cancelled').waitFor();
    await page.locator('.timeline .step[data-status="cancelled"]').waitFor();
    expect(await page.getByRole('button', { name: 'Cancel task…' }).count()).toBe(0);
    expect(await statusOf(task.id)).toBe('cancelled');
    await shot(page, 'task-cancelled');

    await page.getByRole('button', { name: 'Submit again' }).click();
    await page.waitForURL((url) => /#\/tasks\/./.test(url.hash) && !url.hash.includes(task.id));
    const again = decodeURIComponent(new URL(page.url()).hash.replace('#/tasks/', ''));
    await page.locator('.crumbs', { hasText: again }).waitFor();
    expect((await alice.getTask(again)).params).toEqual(expect.objectContaining({ sleepMs: 60_000 }));
    await alice.cancel(again);
    await headerStatus(page, 'cancelled').waitFor();
    await waitFor(async () => isFinalStatus(await statusOf(again)), { message: 'the resubmitted task ends' });
    await page.context().close();
  }, 60_000);

  it('submits a task with input files again: the new task runs from the same inputs', async () => {
    const task = await alice.submit(
      { executer: 'script', gpus: 0, params: { script: 'show.sh' } },
      {
        inputs: [
          await job({ 'show.sh': '#!/bin/sh\ncat words.txt\n', 'words.txt': 'read from the inputs\n' }),
        ],
      },
    );
    expect((await task.wait({ timeoutMs: 30_000 })).status).toBe('succeeded');
    const page = await openTask(task.id);
    await headerStatus(page, 'succeeded').waitFor();
    await page.getByRole('button', { name: 'Submit again' }).click();
    await page.waitForURL((url) => /#\/tasks\/./.test(url.hash) && !url.hash.includes(task.id));
    const again = decodeURIComponent(new URL(page.url()).hash.replace('#/tasks/', ''));
    await page.locator('.crumbs', { hasText: again }).waitFor();
    expect((await alice.task(again).wait({ timeoutMs: 30_000 })).status).toBe('succeeded');
    await headerStatus(page, 'succeeded').waitFor();
    await logLine(page, 'read from the inputs').waitFor();
    const copy = await alice.getTask(again);
    expect(copy.resubmittedFrom).toBe(task.id);
    expect(copy.inputs.map((i) => i.name).sort()).toEqual(['show.sh', 'words.txt']);
    await page.context().close();
  }, 60_000);

  it("tells bob that alice's task is not found, as for a task that does not exist", async () => {
    const task = await alice.submit({ executer: 'probe', params: {} });
    const page = await openTask(task.id, KEYS.bob);
    await page.getByRole('heading', { name: 'Task not found' }).waitFor();
    expect(await page.locator('main').textContent()).toContain(task.id);
    await shot(page, 'task-not-found');

    await page.evaluate("location.hash = '#/tasks/01NOSUCHTASK0000000000000X'");
    await page
      .locator('main', { hasText: '01NOSUCHTASK0000000000000X' })
      .getByRole('heading', { name: 'Task not found' })
      .waitFor();
    await page.getByRole('button', { name: 'Sign out' }).waitFor(); // the app still runs
    await task.wait({ timeoutMs: 20_000 });
    await page.context().close();
  }, 60_000);
});
