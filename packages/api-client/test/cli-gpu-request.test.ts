// `gpufleet submit --gpu-model / --gpu-memory / --wait-for-capacity` on a real fleet whose tracker
// read two H100s and a T4 from a fake nvidia-smi: a T4 task runs on the T4 (GPU 2, not the lowest
// free id) and `status` shows what it asked for; a request no live tracker can meet is refused at
// submission (exit 2) naming the field and listing the GPUs there are, or accepted to wait with
// --wait-for-capacity; a size without a unit and a bad pattern are refused before or by the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeGpu, fakeMachine, installFakeNvidiaSmi, useRedis, useTempDirs } from '@gpufleet/testkit';
import type { TaskView } from '../src/generated/api-types.js';
import { parseJson, runCli, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;

beforeAll(async () => {
  const smi = await installFakeNvidiaSmi(
    await temp.make(),
    fakeMachine([fakeGpu('H100', 0), fakeGpu('H100', 1), fakeGpu('T4', 2)]),
  );
  fleet = await startCliFleet(redis.server, temp, { nvidiaSmi: smi.command, gpus: '0,1,2' });
});
afterAll(async () => {
  await fleet?.close();
});

const cli = (args: string[]) => runCli(args, { env: fleet.env });

describe('gpufleet submit with a GPU request', () => {
  it('runs a T4 task on the T4 and shows what it asked for', async () => {
    const submitted = await cli(['submit', 'probe', '--gpu-model', 'T4', '--wait']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim().split('\n')[0] ?? '';
    const view = parseJson<TaskView>(await cli(['status', id, '--json']));
    expect(view).toMatchObject({
      status: 'succeeded',
      gpuIds: [2],
      gpuModels: ['T4'],
      minGpuMemoryMiB: null,
    });
    const text = await cli(['status', id]);
    expect(text.stdout).toMatch(/^gpus: +1 \(ids 2\), model T4$/m);
  });

  it('takes the memory in GB as the makers count it: 80GB fits an H100, 80GiB does not', async () => {
    const fits = await cli(['submit', 'probe', '--gpu-memory', '80GB', '--wait']);
    expect(fits.code, fits.stderr).toBe(0);
    const view = parseJson<TaskView>(await cli(['status', fits.stdout.trim(), '--json']));
    expect(view.minGpuMemoryMiB).toBe(76_294);
    expect([0, 1]).toContain(view.gpuIds[0]);
    const refused = await cli(['submit', 'probe', '--gpu-memory', '80GiB']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/minGpuMemoryMiB asks for 1 GPU\(s\) of at least 81920 MiB each/);
    expect(refused.stderr).toMatch(/2 × NVIDIA H100 80GB HBM3 \(81559 MiB\), 1 × Tesla T4 \(15360 MiB\)/);
  });

  it('refuses at submission what no live tracker can run, unless it may wait for capacity', async () => {
    const refused = await cli(['submit', 'probe', '--gpus', '2', '--gpu-model', 'T4']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /no live tracker of queue "default" can run this task: gpuModels asks for 2/,
    );
    expect(refused.stderr).toMatch(/--wait-for-capacity/);
    const tooMany = await cli(['submit', 'probe', '--gpus', '8']);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(
      /gpus is 8, but the largest live tracker of queue "default" offering "probe" has 3/,
    );
    const accepted = await cli([
      'submit',
      'probe',
      '--gpus',
      '2',
      '--gpu-model',
      'T4',
      '--wait-for-capacity',
    ]);
    expect(accepted.code, accepted.stderr).toBe(0);
    const id = accepted.stdout.trim();
    expect(parseJson<TaskView>(await cli(['status', id, '--json']))).toMatchObject({
      status: 'queued',
      gpuModels: ['T4'],
    });
    expect((await cli(['cancel', id])).code).toBe(0);
  });

  it('runs a task in a share of a GPU, and refuses a share no GPU is big enough for', async () => {
    const shared = await cli(['submit', 'probe', '--gpu-share', '10GB', '--wait']);
    expect(shared.code, shared.stderr).toBe(0);
    const id = shared.stdout.trim();
    expect(parseJson<TaskView>(await cli(['status', id, '--json']))).toMatchObject({
      status: 'succeeded',
      gpuShareMiB: 9537,
    });
    expect((await cli(['status', id])).stdout).toMatch(/^gpus: +1 \(ids 0\), a share of 9537 MiB$/m);
    const huge = await cli(['submit', 'probe', '--gpu-share', '100GB']);
    expect(huge.code).toBe(2);
    expect(huge.stderr).toMatch(
      /gpuShareMiB asks for 1 GPU\(s\) of a share of 95368 MiB, but no live tracker/,
    );
  });

  it('refuses a size without a unit before sending, and a bad pattern by the API, naming each', async () => {
    const unitless = await cli(['submit', 'probe', '--gpu-memory', '40']);
    expect(unitless.code).toBe(2);
    expect(unitless.stderr).toMatch(/--gpu-memory wants a size with its unit: 40GB, 80GiB or 24576MiB/);
    const pattern = await cli(['submit', 'probe', '--gpu-model', 'H100;rm']);
    expect(pattern.code).toBe(2);
    expect(pattern.stderr).toMatch(/gpuModels\[0\]/);
  });
});
