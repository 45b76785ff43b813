/**
 * Chromium for bench/dashboard.ts, launched as the dashboard's browser tests launch it (testkit's
 * launchChromium: Debian's /usr/bin/chromium through playwright-core, headless, with the flags
 * that keep it off the internet), a 1280×800 page per context, already
 * signed in: the API key is put in sessionStorage (`gpufleet.apiKey`, as the sign-in form leaves
 * it) by an init script before the page's own scripts run.
 *
 * `firstPaint` opens the fleet page in a fresh context (an empty HTTP cache, a new tab) and reads,
 * from navigation start (performance.timeOrigin): first-contentful-paint (the paint timing entry),
 * the moment the last of the expected GPU cells (`li.gpu`) is in the DOM (a MutationObserver set up
 * before the page's scripts run), the end of the frame that renders it (the task after its
 * requestAnimationFrame callbacks, by then laid out and painted), and
 * when the answers of GET /v1/me and the first GET /v1/trackers ended (resource timing).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** What went wrong in any page opened here (uncaught errors, console errors), first few. */
export const pageProblems: string[] = [];
const problem = (message: string): void => void (pageProblems.length < 20 && pageProblems.push(message));

export interface OpenPage {
  context: BrowserContext;
  page: Page;
  /** Paths of the requests the page sent to the API (`/v1/…`), in order. */
  apiRequests: string[];
  close(): Promise<void>;
}

/**
 * Opens `url/#hash` signed in with `key` in a fresh 1280×800 context; `initScript` (source text)
 * runs before the page's scripts too. Returns once the page's load event fired.
 */
export async function openSignedIn(
  browser: Browser,
  url: string,
  key: string,
  hash: string,
  initScript = '',
): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  // Source text, not a function: tsx's transform would add helpers the page does not have.
  await page.addInitScript({
    content: `sessionStorage.setItem('gpufleet.apiKey', ${JSON.stringify(key)});\n${initScript}`,
  });
  page.on('pageerror', (error) => problem(`${hash}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problem(`${hash}: console: ${message.text()}`);
  });
  const apiRequests: string[] = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith('/v1/')) apiRequests.push(path);
  });
  await page.goto(`${url}/${hash}`);
  return { context, page, apiRequests, close: () => context.close() };
}

/** Waits until at least `count` GPU cells are on the page (a locator: the page's CSP forbids eval). */
export async function waitForGrid(page: Page, count: number): Promise<void> {
  await page
    .locator('li.gpu')
    .nth(count - 1)
    .waitFor({ state: 'attached' });
}

export interface PaintSample {
  /** first-contentful-paint, ms from navigation start; null: none reported. */
  fcpMs: number | null;
  /** The last expected GPU cell in the DOM. */
  gridMs: number;
  /** The frame after that rendered: the task after its animation frame callbacks (rAF + setTimeout 0). */
  gridFrameMs: number;
  /** The end of the answer to GET /v1/me (the key checked) and to the first GET /v1/trackers. */
  meMs: number | null;
  trackersMs: number | null;
  /** The end of the HTML document's answer, and DOMContentLoaded. */
  htmlMs: number | null;
  domContentLoadedMs: number | null;
  cells: number;
}

/**
 * In the page, before its scripts: records first-contentful-paint (a buffered PerformanceObserver),
 * when `cells` GPU cells are in the DOM and when the next frame has rendered (window.__grid), and resolves
 * window.__gridShown once all three are known. (The page's CSP forbids eval, so the bench awaits a
 * promise rather than polling an expression.)
 */
const gridObserver = (cells: number): string => `
  const grid = (window.__grid = { fcp: null, at: null, frame: null });
  window.__gridShown = new Promise((resolve) => {
    const check = () => grid.fcp !== null && grid.frame !== null && resolve(true);
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') grid.fcp = e.startTime;
      check();
    }).observe({ type: 'paint', buffered: true });
    new MutationObserver((_, observer) => {
      if (document.querySelectorAll('li.gpu').length < ${cells}) return;
      grid.at = performance.now();
      observer.disconnect();
      // The task after the next animation frame's callbacks runs once that frame's style,
      // layout and paint are done: the grid is on screen.
      requestAnimationFrame(() =>
        setTimeout(() => {
          grid.frame = performance.now();
          check();
        }, 0),
      );
    }).observe(document, { childList: true, subtree: true });
  });
`;

const READ_TIMINGS = `(() => {
  const resources = performance.getEntriesByType('resource');
  const end = (part) => resources.find((e) => new URL(e.name).pathname === part)?.responseEnd ?? null;
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    fcpMs: window.__grid.fcp,
    gridMs: window.__grid.at,
    gridFrameMs: window.__grid.frame,
    meMs: end('/v1/me'),
    trackersMs: end('/v1/trackers'),
    htmlMs: nav ? nav.responseEnd : null,
    domContentLoadedMs: nav ? nav.domContentLoadedEventEnd : null,
    cells: document.querySelectorAll('li.gpu').length,
  };
})()`;

/** One cold load of the fleet page until its `cells` GPU cells are shown; closes the context. */
export async function firstPaint(
  browser: Browser,
  url: string,
  key: string,
  cells: number,
): Promise<PaintSample> {
  const open = await openSignedIn(browser, url, key, '#/fleet', gridObserver(cells));
  try {
    await open.page.evaluate('window.__gridShown');
    return (await open.page.evaluate(READ_TIMINGS)) as PaintSample;
  } finally {
    await open.close();
  }
}
