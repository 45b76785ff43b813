// Preemption as a user meets it, end to end: the `gpufleet` binary against a real API and a real
// in-process tracker (4 GPUs) running the checkpointer executer as processes. Four long tasks
// submitted `--preemptible` at a low priority fill the GPUs; `submit --priority 900 --wait` of an
// urgent task succeeds within seconds (not when a long task ends), one long task was stopped for
// it, checkpointed on SIGTERM and runs again, and `status` says so (`preempted: 1 time, last by`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTask, queueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { parseJson, runCli, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
});
afterAll(async () => {
  await fleet?.close();
});

const cli = (args: string[]) => runCli(args, { env: fleet.env });

async function submitted(args: string[]): Promise<string> {
  const result = await cli(['submit', ...args, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return parseJson<{ tasks: Array<{ id: string }> }>(result).tasks[0]?.id ?? '';
}

describe('gpufleet and preemption', () => {
  it('starts an urgent task at once on GPUs full of preemptible work, and says who was preempted', async () => {
    const client = redis.server.client();
    const keys = queueKeys(fleet.prefix, 'default');
    const stateDir = await temp.make();
    const long: string[] = [];
    for (let i = 0; i < 4; i++) {
      long.push(
        await submitted([
          'checkpointer',
          '--preemptible',
          '--priority',
          '100',
          '--param',
          `stateDir=${stateDir}`,
          '--param',
          'sleepMs=30000',
          '--param',
          'resumeSleepMs=100',
        ]),
      );
    }
    // All four run and listen for SIGTERM (each prints a line once it does).
    for (const id of long) {
      await waitFor(async () =>
        (await client.xrange(keys.log(id), '-', '+')).some(([, f]) => f.join(' ').includes('starting')),
      );
    }
    const startedAt = Date.now();
    const urgent = await cli([
      'submit',
      'probe',
      '--priority',
      '900',
      '--param',
      'sleepMs=50',
      '--wait',
      '--json',
    ]);
    expect(urgent.code, urgent.stderr).toBe(0);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    const urgentId = parseJson<{ tasks: Array<{ id: string }> }>(urgent).tasks[0]?.id ?? '';

    const records = await Promise.all(long.map((id) => getTask(client, keys, id)));
    const preempted = records.filter((r) => (r?.preemptions ?? 0) > 0);
    expect(preempted).toHaveLength(1);
    const victim = preempted[0]?.id ?? '';
    expect(preempted[0]?.preemptedBy).toBe(urgentId);
    const status = await cli(['status', victim]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('preemptible');
    expect(status.stdout).toMatch(new RegExp(`preempted: +1 time, last by ${urgentId}`));
    // It resumes from its checkpoint and finishes; the others are cancelled.
    expect((await cli(['wait', victim, '--json'])).code).toBe(0);
    for (const id of long.filter((x) => x !== victim)) await cli(['cancel', id]);
  });
});
