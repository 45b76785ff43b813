// `gpufleet drain` and `gpufleet undrain` end to end, on a real fleet (the API server and an
// in-process tracker with GPUs 0-3): draining GPU 1 prints the tracker's drains and `gpufleet
// trackers` shows the GPU held `drained: <reason>`; draining the whole tracker shows it `yes,
// drained`, a task submitted meanwhile is accepted (a drain is temporary: no NO_CAPACITY) and waits
// until the undrain, then runs on a GPU other than 1; `--json` prints the API's answer. An unknown
// tracker exits 4, a GPU the tracker does not have 2 naming `gpu`, a bad --gpu 2 before anything
// is sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { DrainState, TaskView } from '../src/generated/api-types.js';
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

const cli = (...args: string[]) => runCli(args, { env: fleet.env });

/** Waits until `gpufleet trackers` prints a line matching `pattern`. */
async function trackersShow(pattern: RegExp, message: string): Promise<void> {
  await waitFor(async () => pattern.test((await cli('trackers')).stdout), { message });
}

describe('gpufleet drain and undrain', () => {
  it('drains a GPU, then the whole tracker, and takes both back', async () => {
    const name = fleet.tracker.name;
    const gpu = await cli('drain', name, '--gpu', '1', '--reason', 'fan noise');
    expect(gpu.code, gpu.stderr).toBe(0);
    expect(gpu.stdout).toMatch(new RegExp(`^${name} \\(queue default\\): takes new tasks$`, 'm'));
    expect(gpu.stdout).toMatch(
      /^ {2}GPU 1: drained: fan noise \(by GPUFLEET_API_TOKEN, \d{4}-\d\d-\d\d [\d:]{8}\)$/m,
    );
    await trackersShow(new RegExp(`^${name} +1 +.* drained: fan noise$`, 'm'), 'GPU 1 drained in the table');

    const whole = await cli('drain', name, '--reason', 'maintenance', '--json');
    expect(whole.code, whole.stderr).toBe(0);
    const state = parseJson<DrainState>(whole);
    expect(state).toMatchObject({ name, queue: 'default', live: true, drained: { reason: 'maintenance' } });
    expect(state.gpus.map((g) => g.drained?.reason ?? null)).toEqual([null, 'fan noise', null, null]);
    await trackersShow(new RegExp(`^${name} +default +\\S+ +yes, drained `, 'm'), 'the tracker drained');

    // Accepted while the only tracker is drained, and left waiting until it is undrained.
    const submitted = await cli('submit', 'probe', '--json');
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = parseJson<{ tasks: Array<{ id: string }> }>(submitted).tasks[0]?.id ?? '';
    const undrainAt = Date.now();
    const undrained = await cli('undrain', name);
    expect(undrained.code, undrained.stderr).toBe(0);
    expect(undrained.stdout).toMatch(new RegExp(`^${name} \\(queue default\\): takes new tasks$`, 'm'));
    expect(undrained.stdout).toMatch(/^ {2}GPU 1: drained: fan noise/m);
    const waited = await cli('wait', id);
    expect(waited.code, waited.stderr).toBe(0);
    const task = parseJson<TaskView>(await cli('status', id, '--json'));
    expect(task.status).toBe('succeeded');
    expect(Date.parse(task.startedAt ?? '')).toBeGreaterThanOrEqual(undrainAt);
    expect(task.gpuIds).not.toContain(1);

    const back = await cli('undrain', name, '--gpu', '1', '--json');
    expect(back.code, back.stderr).toBe(0);
    expect(parseJson<DrainState>(back).gpus.every((g) => g.drained === null)).toBe(true);
    await trackersShow(new RegExp(`^${name} +1 +.* -$`, 'm'), 'GPU 1 given back in the table');
  });

  it('exits 4 for an unknown tracker and 2 for a GPU it does not have or a bad --gpu', async () => {
    const unknown = await cli('drain', 'no-such-tracker');
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('no tracker named no-such-tracker');
    const noGpu = await cli('undrain', fleet.tracker.name, '--gpu', '9');
    expect(noGpu.code).toBe(2);
    expect(noGpu.stderr).toMatch(/^ {2}gpu: tracker \S+ has no GPU 9 \(its GPUs: 0, 1, 2, 3\)$/m);
    const bad = await cli('drain', fleet.tracker.name, '--gpu', 'one');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--gpu wants a whole number');
  });
});
