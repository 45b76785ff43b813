/**
 * Test harness for gpufleet's packages: a real redis-server per test file on a free port with a
 * fresh data folder, temp folders removed after the file, polling instead of fixed sleeps, small
 * TCP probes (does a port answer, ask a line server), and a fake `nvidia-smi` that answers like the
 * real one from a state the test sets.
 *
 * @example
 * import { uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
 *
 * const redis = useRedis({ appendOnly: true });
 * const temp = useTempDirs();
 *
 * it('sees the value', async () => {
 *   const client = redis.server.client();
 *   const key = `${uniquePrefix()}:greeting`;
 *   await client.set(key, 'hello');
 *   expect(await waitFor(() => client.get(key))).toBe('hello');
 *   const dir = await temp.make();
 * });
 */
export { CHROMIUM, CHROMIUM_FLAGS, launchChromium } from './chromium.js';
export { startRedis, uniquePrefix, useRedis } from './redis-server.js';
export type { RedisServer, RedisServerOptions } from './redis-server.js';
export { startS3Server, useS3Server } from './s3-server.js';
export type { S3Fault, S3Operation, S3Request, S3Server, S3ServerOptions } from './s3-server.js';
export {
  DRIVER_NOT_LOADED,
  FAKE_GPU_MODELS,
  fakeGpu,
  fakeMachine,
  installFakeNvidiaSmi,
} from './fake-nvidia-smi.js';
export type {
  FakeComputeApp,
  FakeGpu,
  FakeGpuModel,
  FakeMigDevice,
  FakeNvidiaSmi,
  FakeNvidiaSmiState,
} from './fake-nvidia-smi.js';
export { makeTempDir, removeDir, useTempDirs } from './temp-dir.js';
export type { TempDirs } from './temp-dir.js';
export { waitFor } from './wait-for.js';
export { freePort } from './free-port.js';
export { askLine, endpointHost, endpointPort, portAnswers } from './tcp-probe.js';
export { slurmUnavailable, startSlurmCluster } from './slurm-cluster.js';
export type { SlurmCluster, SlurmClusterOptions } from './slurm-cluster.js';
export type { Truthy, WaitForOptions } from './wait-for.js';
