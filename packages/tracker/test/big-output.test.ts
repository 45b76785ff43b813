// A task that prints 1 GiB keeps the tracker's memory flat: output streams to files with
// back-pressure and the live log stream is capped, and stdout.txt holds all of it.
import { describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { useFaultFleets } from './helpers/fault-fleet.js';
import { waitForFinal } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const newFleet = useFaultFleets(redis, temp);
const MIB = 1024 * 1024;

describe('big output', () => {
  it(
    'keeps the tracker RSS growth under 100 MB while a task prints 1 GiB, and keeps all of it',
    { timeout: 180_000 },
    async () => {
      const fleet = await newFleet();
      const a = await fleet.start('tracker-a', { LOG_LEVEL: 'warn' });
      const before = a.usage();
      const id = await fleet.submit({ executer: 'flood', params: { mib: 1024 } });
      const task = await waitForFinal(fleet.client, fleet.keys, id, 170_000);
      expect(task.status).toBe('succeeded');
      const stdout = task.outputs?.files.find((f) => f.path === 'stdout.txt');
      expect(stdout?.size).toBe(1024 * MIB);
      const growth = a.usage().peakRssBytes - before.rssBytes;
      expect(growth).toBeLessThan(100 * 1000 * 1000);
      expect(await fleet.client.xlen(fleet.keys.log(id))).toBeLessThan(6000);
    },
  );
});
