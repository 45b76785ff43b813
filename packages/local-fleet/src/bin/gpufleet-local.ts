#!/usr/bin/env node
/**
 * gpufleet-local (`npm start`): brings up a whole fleet on this machine and runs a demo task so you
 * see one complete. Ctrl-C stops everything cleanly.
 * Usage: gpufleet-local [--no-demo] [--exit-after-demo] [--own-redis] [--data-dir .gpufleet]
 * Environment: REDIS_URL, GPUFLEET_GPUS, GPUFLEET_CPU_SLOTS, ARTIFACT_STORE... (see README).
 */
import { parseArgs } from 'node:util';
import { config as loadDotenv } from 'dotenv';
import { GpufleetError } from '@gpufleet/core';
import { runDemoTask } from '../demo-task.js';
import { connectToFleet, startLocalFleet } from '../local-fleet.js';

loadDotenv({ quiet: true });
const { values } = parseArgs({
  options: {
    'no-demo': { type: 'boolean' },
    'exit-after-demo': { type: 'boolean' },
    'own-redis': { type: 'boolean' },
    'data-dir': { type: 'string', default: '.gpufleet' },
  },
});
const print = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  let fleet;
  try {
    fleet = await startLocalFleet({ dataDir: values['data-dir'], ownRedis: values['own-redis'] });
  } catch (error) {
    process.stderr.write(`gpufleet-local: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof GpufleetError ? 1 : 2;
  }
  const info = fleet.tracker.info();
  const dataDir = values['data-dir'];
  print(`gpufleet local fleet is up`);
  print(
    `  redis:     ${fleet.redis.url} (${fleet.redis.source === 'started' ? `started here, data in ${dataDir}/redis` : fleet.redis.source})`,
  );
  print(
    `  tracker:   ${info.name}: ${info.gpus.length > 0 ? `GPUs ${info.gpus.join(',')}` : `${info.cpuSlots} CPU slots`}, executers ${info.executers.join(', ')}`,
  );
  print(`  artifacts: ${dataDir}/artifacts`);
  let stopping = false;
  const stop = async (code: number): Promise<number> => {
    stopping = true;
    print('stopping the local fleet...');
    await fleet.close();
    return code;
  };
  const stopped = new Promise<number>((resolve) => {
    process.once('SIGINT', () => void stop(0).then(resolve));
    process.once('SIGTERM', () => void stop(0).then(resolve));
  });
  if (!values['no-demo']) {
    const redis = await connectToFleet(fleet);
    try {
      const task = await runDemoTask({
        redis,
        prefix: fleet.prefix,
        gpus: info.gpus.length > 0 ? 1 : 0,
        print,
      });
      const files = task.outputs?.files.map((f) => `${f.path} (${f.size} B)`).join(', ') ?? 'none';
      print(`demo: ${task.status}${task.error ? `: ${task.error}` : ''}`);
      print(`demo: outputs in ${dataDir}/artifacts/${task.outputs?.prefix ?? ''}: ${files}`);
      if (values['exit-after-demo'] && !stopping) return stop(task.status === 'succeeded' ? 0 : 1);
    } finally {
      redis.disconnect();
    }
  }
  print('the fleet runs until Ctrl-C');
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
