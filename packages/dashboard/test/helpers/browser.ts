/**
 * The browser of the dashboard's tests: testkit's headless Chromium (launchChromium: Debian's, off
 * the internet; a missing one fails the test with how to install it). `useBrowser()` launches one per test file; `signIn` opens the dashboard and signs in with a key
 * through the form, as a person does; `screenshot` saves the page under test-output/screenshots/
 * (gitignored) to be looked at.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from '@gpufleet/testkit';

export const SCREENSHOTS = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

/** A 1280×800 browser for the file's tests (a laptop screen, the size the pages are made for). */
export function useBrowser(): { browser: () => Browser; page: () => Promise<Page> } {
  let browser: Browser | null = null;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  const get = (): Browser => {
    if (!browser) throw new Error('the browser did not start');
    return browser;
  };
  return {
    browser: get,
    page: async () => {
      const context = await get().newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      return page;
    },
  };
}

/** Opens the dashboard at `url` and signs in with `key` through the form; on the fleet page after. */
export async function signIn(page: Page, url: string, key: string, hash = ''): Promise<void> {
  await page.goto(`${url}/${hash}`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Saves the whole page as test-output/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
