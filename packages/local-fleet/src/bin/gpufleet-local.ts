#!/usr/bin/env node
/**
 * gpufleet-local (`npm start`): brings up a whole fleet on this machine (Redis, a tracker, the web
 * API) and runs a demo task so you see one complete. The first Ctrl-C stops everything cleanly,
 * saying which running tasks it waits for and how long at most; a second one exits at once.
 * Usage: gpufleet-local [--no-demo] [--exit-after-demo] [--own-redis] [--data-dir .gpufleet]
 *                       [--api-port 8080]
 * Environment: REDIS_URL, GPUFLEET_GPUS, GPUFLEET_CPU_SLOTS, GPUFLEET_API_PORT... (see README).
 * Exit codes: 0 clean stop (or the demo succeeded), 1 the demo failed or no Redis, 2 other errors.
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { config as loadDotenv } from 'dotenv';
import { GpufleetClient } from '@gpufleet/api-client';
import { GpufleetError } from '@gpufleet/core';
import { printBanner } from '../banner.js';
import { gpufleetCommand } from '../cli-command.js';
import { runDemoTask } from '../demo-task.js';
import { startLocalFleet, type LocalFleet } from '../local-fleet.js';
import { shutdownNotice } from '../shutdown-notice.js';

loadDotenv({ quiet: true });
const { values } = parseArgs({
  options: {
    'no-demo': { type: 'boolean' },
    'exit-after-demo': { type: 'boolean' },
    'own-redis': { type: 'boolean' },
    'data-dir': { type: 'string', default: '.gpufleet' },
    'api-port': { type: 'string' },
  },
});
const print = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  let fleet: LocalFleet;
  try {
    const apiPort = values['api-port'] === undefined ? undefined : Number(values['api-port']);
    fleet = await startLocalFleet({ dataDir: values['data-dir'], ownRedis: values['own-redis'], apiPort });
  } catch (error) {
    process.stderr.write(`gpufleet-local: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof GpufleetError ? 1 : 2;
  }
  const cli = await gpufleetCommand();
  printBanner(fleet, values['data-dir'], cli, print);
  const controller = new AbortController();
  let signals = 0;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (): void => {
      if (++signals > 1) process.exit(130);
      print(shutdownNotice(fleet));
      controller.abort();
      void fleet.close().then(() => resolve(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  if (!values['no-demo']) {
    const client = new GpufleetClient({ url: fleet.api.url, token: fleet.api.token });
    const gpus = fleet.tracker.info().gpus.length > 0 ? 1 : 0;
    try {
      const { task, outputs } = await runDemoTask({ client, gpus, print, signal: controller.signal });
      const files = outputs?.files.map((f) => `${f.path} (${f.size} B)`).join(', ') ?? 'none';
      print(`demo: ${task.status}${task.error ? `: ${task.error}` : ''}`);
      print(`demo: outputs: ${files}`);
      print(`demo: fetch them with: ${cli} download ${task.id} --out ./dam-break`);
      if (values['exit-after-demo']) {
        await fleet.close();
        return task.status === 'succeeded' ? 0 : 1;
      }
    } catch (error) {
      if (controller.signal.aborted) return stopped;
      throw error;
    }
  }
  print(`the fleet runs until Ctrl-C (data in ${relative(process.cwd(), fleet.dataDir) || '.'})`);
  return stopped;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `gpufleet-local: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
