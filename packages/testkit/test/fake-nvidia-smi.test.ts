// The fake nvidia-smi answers as the real one does (driver 550) from the state the test writes:
// CSV queries of GPUs (in PCI bus order, units and header as asked, `[N/A]` for what a GPU does not
// report; usage too: utilisation, memory used, temperature, power) and of compute processes, the
// table's header, `-q`, `-L` and `--version`; it refuses an unknown field, or one an older driver
// lacks, as the real one refuses it; it fails like a driver that is not loaded; it is found on PATH as `nvidia-smi`; and it records each call's arguments.
// It counts uncorrectable ECC errors, and answers for a GPU that fell off the bus as the real one.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  DRIVER_NOT_LOADED,
  fakeGpu,
  installFakeNvidiaSmi,
  useTempDirs,
  type FakeNvidiaSmi,
  type FakeNvidiaSmiState,
} from '../src/index.js';

const temp = useTempDirs();
const exec = promisify(execFile);

const H100 = fakeGpu('H100', 0);
const A100 = fakeGpu('A100-80GB', 1, {
  migMode: 'Enabled',
  migDevices: [{ uuid: 'MIG-0c9a5e2b-3f1d-5a7e-8b4c-2d6f1e9a3b70', profile: '3g.40gb' }],
});
const T4 = fakeGpu('T4', 2);
const STATE: FakeNvidiaSmiState = {
  driverVersion: '550.54.15',
  cudaVersion: '12.4',
  // Not in bus order: the fake numbers them as the real one does, by PCI bus id.
  gpus: [T4, A100, H100],
  computeApps: [{ pid: 4242, processName: 'python3', usedMemoryMiB: 20_480, gpuUuid: H100.uuid }],
};
const ALL_FIELDS =
  '--query-gpu=index,uuid,pci.bus_id,name,memory.total,driver_version,compute_cap,mig.mode.current';

async function install(state: FakeNvidiaSmiState = STATE): Promise<FakeNvidiaSmi> {
  return installFakeNvidiaSmi(await temp.make(), state);
}

async function run(
  smi: FakeNvidiaSmi,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(smi.command, args);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the fake nvidia-smi', () => {
  it('answers a GPU query in CSV, one GPU a line in PCI bus order, as the real one does', async () => {
    const smi = await install();
    const { code, stdout } = await run(smi, [ALL_FIELDS, '--format=csv,noheader,nounits']);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        `0, ${H100.uuid}, 00000000:18:00.0, NVIDIA H100 80GB HBM3, 81559, 550.54.15, 9.0, Disabled`,
        `1, ${A100.uuid}, 00000000:29:00.0, NVIDIA A100-SXM4-80GB, 81920, 550.54.15, 8.0, Enabled`,
        `2, ${T4.uuid}, 00000000:3A:00.0, Tesla T4, 15360, 550.54.15, 7.5, [N/A]`,
        '',
      ].join('\n'),
    );
    const withUnits = await run(smi, ['--query-gpu=index,memory.total,memory.used', '--format=csv']);
    expect(withUnits.stdout.split('\n').slice(0, 2)).toEqual([
      'index, memory.total [MiB], memory.used [MiB]',
      '0, 81559 MiB, 20480 MiB',
    ]);
    const one = await run(smi, ['--query-gpu=name', '--format=csv,noheader', '-i', T4.uuid]);
    expect(one.stdout).toBe('Tesla T4\n');
  });

  it('refuses a field it does not know, and one an older driver lacks, as the real one does', async () => {
    const smi = await install();
    const unknown = await run(smi, ['--query-gpu=index,gpu_temperature', '--format=csv']);
    expect(unknown).toEqual({
      code: 2,
      stdout: 'Field "gpu_temperature" is not a valid field to query.\n\n',
      stderr: '',
    });
    await smi.setState({ ...STATE, driverVersion: '470.223.02', unknownFields: ['compute_cap'] });
    const old = await run(smi, [ALL_FIELDS, '--format=csv,noheader,nounits']);
    expect(old.code).toBe(2);
    expect(old.stdout).toBe('Field "compute_cap" is not a valid field to query.\n\n');
    const without = await run(smi, ['--query-gpu=index,driver_version', '--format=csv,noheader']);
    expect(without.stdout.split('\n')[0]).toBe('0, 470.223.02');
    expect((await run(smi, ['--query-gpu=index'])).code).toBe(2);
  });

  it('samples usage: utilisation, memory used, temperature and power, [N/A] where the state says null', async () => {
    const smi = await install({
      ...STATE,
      gpus: [
        { ...H100, utilizationGpu: 73, temperatureC: 65, powerW: 312.5 },
        { ...T4, memoryUsedMiB: 1024, utilizationGpu: null, temperatureC: null, powerW: null },
        A100,
      ],
    });
    const fields = '--query-gpu=index,utilization.gpu,memory.used,temperature.gpu,power.draw';
    const bare = await run(smi, [fields, '--format=csv,noheader,nounits']);
    // A100: the defaults, a GPU at rest (0 %, 40 °C, 70 W).
    expect(bare.stdout).toBe('0, 73, 20480, 65, 312.50\n1, 0, 0, 40, 70.00\n2, [N/A], 1024, [N/A], [N/A]\n');
    const withUnits = await run(smi, [fields, '--format=csv']);
    expect(withUnits.stdout.split('\n').slice(0, 2)).toEqual([
      'index, utilization.gpu [%], memory.used [MiB], temperature.gpu, power.draw [W]',
      '0, 73 %, 20480 MiB, 65, 312.50 W',
    ]);
  });

  it('gives values as printed where the state says so, such as [Field not supported]', async () => {
    const smi = await install({
      ...STATE,
      gpus: [{ ...H100, raw: { compute_cap: '[Field not supported]', 'memory.total': '[N/A]' } }],
    });
    const { stdout } = await run(smi, ['--query-gpu=index,memory.total,compute_cap', '--format=csv']);
    expect(stdout).toBe('index, memory.total [MiB], compute_cap\n0, [N/A], [Field not supported]\n');
  });

  it('lists compute processes, and nothing when there are none', async () => {
    const smi = await install();
    const fields = '--query-compute-apps=pid,process_name,used_memory,gpu_uuid';
    const apps = await run(smi, [fields, '--format=csv,noheader,nounits']);
    expect(apps.stdout).toBe(`4242, python3, 20480, ${H100.uuid}\n`);
    const header = await run(smi, [fields, '--format=csv']);
    expect(header.stdout).toBe(
      `pid, process_name, used_gpu_memory [MiB], gpu_uuid\n4242, python3, 20480 MiB, ${H100.uuid}\n`,
    );
    await smi.setState({ ...STATE, computeApps: [] });
    expect((await run(smi, [fields, '--format=csv,noheader,nounits'])).stdout).toBe('');
  });

  it('names the driver and CUDA versions in its table, -q and --version; lists GPUs and MIG devices with -L', async () => {
    const smi = await install();
    const table = (await run(smi, [])).stdout;
    expect(table).toMatch(
      /^\| NVIDIA-SMI 550\.54\.15 +Driver Version: 550\.54\.15 +CUDA Version: 12\.4 +\|$/m,
    );
    expect(table).toMatch(/^\| +0 +NVIDIA H100 80GB HBM3 +On +\| +00000000:18:00\.0 Off \|/m);
    const details = (await run(smi, ['-q'])).stdout;
    expect(details).toMatch(/^Driver Version {28}: 550\.54\.15$/m);
    expect(details).toMatch(/^CUDA Version {30}: 12\.4$/m);
    expect(details).toMatch(/^GPU 00000000:29:00\.0\n {4}Product Name {26}: NVIDIA A100-SXM4-80GB$/m);
    expect((await run(smi, ['--version'])).stdout).toMatch(/^CUDA Version {8}: 12\.4$/m);
    expect((await run(smi, ['-L'])).stdout).toBe(
      [
        `GPU 0: NVIDIA H100 80GB HBM3 (UUID: ${H100.uuid})`,
        `GPU 1: NVIDIA A100-SXM4-80GB (UUID: ${A100.uuid})`,
        '  MIG 3g.40gb     Device  0: (UUID: MIG-0c9a5e2b-3f1d-5a7e-8b4c-2d6f1e9a3b70)',
        `GPU 2: Tesla T4 (UUID: ${T4.uuid})`,
        '',
      ].join('\n'),
    );
    await smi.setState({ ...STATE, cudaVersion: null });
    expect((await run(smi, [])).stdout).toMatch(/CUDA Version: N\/A +\|$/m);
  });

  it('counts uncorrectable ECC errors, and answers for a GPU that fell off the bus as the real one does', async () => {
    const ecc = '--query-gpu=index,uuid,pci.bus_id,ecc.errors.uncorrected.volatile.total';
    const smi = await install({
      ...STATE,
      gpus: [
        { ...H100, eccUncorrectedVolatile: 2 },
        { ...A100, lost: true },
        { ...T4, eccUncorrectedVolatile: null },
      ],
    });
    const answer = await run(smi, [ecc, '--format=csv,noheader,nounits']);
    expect(answer.code).toBe(15);
    expect(answer.stdout).toBe(
      [
        `0, ${H100.uuid}, 00000000:18:00.0, 2`,
        'Unable to determine the device handle for GPU0000:29:00.0: Unknown Error',
        `2, ${T4.uuid}, 00000000:3A:00.0, [N/A]`,
        '',
      ].join('\n'),
    );
    expect((await run(smi, ['-L'])).stdout.split('\n')[1]).toBe(
      'Unable to determine the device handle for gpu 0000:29:00.0: Unknown Error',
    );
    await smi.setState({ ...STATE, gpus: [H100, A100] });
    expect(
      await run(smi, ['--query-gpu=index,ecc.errors.uncorrected.volatile.total', '--format=csv']),
    ).toEqual({
      code: 0,
      stdout: 'index, ecc.errors.uncorrected.volatile.total\n0, 0\n1, 0\n',
      stderr: '',
    });
  });

  it('fails every call like a driver that is not loaded', async () => {
    const smi = await install({ ...STATE, fail: DRIVER_NOT_LOADED });
    const result = await run(smi, [ALL_FIELDS, '--format=csv,noheader,nounits']);
    expect(result.code).toBe(9);
    expect(result.stdout).toMatch(
      /^NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/,
    );
  });

  it('is found on PATH as nvidia-smi, and records the arguments of each call', async () => {
    const smi = await install();
    const { stdout } = await exec('nvidia-smi', ['--query-gpu=count', '--format=csv,noheader'], {
      env: { PATH: smi.path() },
    });
    expect(stdout).toBe('3\n3\n3\n');
    await run(smi, ['-L']);
    expect(await smi.calls()).toEqual([['--query-gpu=count', '--format=csv,noheader'], ['-L']]);
  });
});
