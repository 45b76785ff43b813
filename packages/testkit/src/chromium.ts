/**
 * Headless Chromium for the dashboard's tests and benchmark: Debian's `chromium` (/usr/bin/chromium,
 * which .ci/run installs; GPUFLEET_CHROMIUM names another), driven by playwright-core, with the
 * flags that keep it off the internet (this machine refuses every outside connection; without them
 * Chromium keeps trying) and out of the way of a shared machine. A missing Chromium is an error
 * that says how to install it: the browser tests are part of `npm test`.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['GPUFLEET_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Launches the headless Chromium, or says why it cannot. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set GPUFLEET_CHROMIUM`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS], headless: true });
}
