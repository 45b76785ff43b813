// Signing in, in a real Chromium against the real API: the key form refuses a key the API does not
// know and says so; a known key shows who is signed in, survives a reload (sessionStorage) and is
// never in the URL; signing out forgets it. The API serves the dashboard under / with its
// security headers, compressed, and a path it does not know still answers the API's JSON 404.
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, signIn, useBrowser } from './helpers/browser.js';
import { KEYS, startDashboardFleet, type DashboardFleet } from './helpers/dashboard-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const chrome = useBrowser();
let fleet: DashboardFleet;

beforeAll(async () => {
  fleet = await startDashboardFleet(redis.server, temp);
});
afterAll(async () => {
  await fleet?.close();
});

describe('the dashboard: signing in', () => {
  it('is served under / with its security headers; other paths keep the JSON 404', async () => {
    const page = await fetch(`${fleet.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${fleet.url}${asset}`, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toContain('immutable');
    // Sent compressed, from the copies the build wrote.
    expect(script.headers.get('content-encoding')).toBe('br');
    expect((await script.text()).length).toBeGreaterThan(Number(script.headers.get('content-length')));
    const missing = await fetch(`${fleet.url}/no-such-page`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('refuses an unknown key, signs in a known one, keeps it across a reload but not in the URL, and signs out', async () => {
    const page = await chrome.page();
    await page.goto(`${fleet.url}/`);
    await page.getByLabel('API key').fill('not-a-key-the-api-knows-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('does not know this key');
    await screenshot(page, 'sign-in-refused');

    await signIn(page, fleet.url, KEYS.alice);
    await expect(page.locator('.who').textContent()).resolves.toBe('alice · user');
    expect(page.url()).not.toContain(KEYS.alice);
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(1);
    expect(await page.evaluate('localStorage.length')).toBe(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.context().close();
  });
});
