// The controller's side of a service, end to end: the catalog's sim-server example (a stand-in for
// a simulation build, its screen size set by its arguments) runs as a task on a real fleet, and a
// controller in another process (test/fixtures/sim-controller.mjs, written with the client
// library's followEndpoints) waits for its endpoints, connects to its control port and exchanges
// messages with it; when the service exits and is restarted, the controller sees the endpoints
// withdrawn and reconnects to the new run. (A tracker's death is the tracker's own test:
// tracker/test/service-crash.test.ts.)
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_DIR } from '@gpufleet/executers';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { GpufleetClient } from '@gpufleet/api-client';
import { PROBE_EXECUTERS, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const CONTROLLER = fileURLToPath(new URL('./fixtures/sim-controller.mjs', import.meta.url));
const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;
let client: GpufleetClient;

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp, {
    trackerEnv: {
      GPUFLEET_EXECUTERS: `${CATALOG_DIR}:${PROBE_EXECUTERS}`,
      GPUFLEET_ADVERTISE_HOST: '127.0.0.1',
      GPUFLEET_PORT_RANGE: '24000-24099',
    },
  });
  client = new GpufleetClient({ url: fleet.url, token: fleet.token });
}, 60_000);
afterAll(async () => fleet?.close());

type Line = { event: string; control?: string; hello?: string; frame?: string; status?: string };

/** The controller process, and its JSON lines as they come. */
function startController(taskId: string) {
  const child = spawn(process.execPath, [CONTROLLER, fleet.url, fleet.token, taskId], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Line> => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the controller exited');
    return JSON.parse(value as string) as Line;
  };
  return { child, next };
}

describe('a controller of the sim-server service', () => {
  it('waits for the endpoints, talks to the build at the size it was given, and reconnects after a restart', async () => {
    const { id } = await client.submit({
      executer: 'sim-server',
      params: { width: 1920, height: 1080, failAfterMs: 4000 },
    });
    const controller = startController(id);
    const first = await controller.next();
    expect(first).toMatchObject({ event: 'frame', frame: 'FRAME 1 1920x1080' });
    expect(first.hello).toMatch(/^HELLO sim-server 1920x1080 fps=30 pid=\d+$/);
    expect(first.control).toMatch(/^127\.0\.0\.1:240\d\d$/);
    // The build fails after 4 s: its endpoints go, it restarts, the controller connects again.
    expect(await controller.next()).toEqual({ event: 'withdrawn' });
    const again = await controller.next();
    expect(again).toMatchObject({ event: 'frame', frame: 'FRAME 2 1920x1080' });
    expect(again.hello).not.toBe(first.hello); // another process (its pid)
    await client.cancel(id);
    expect(await controller.next()).toEqual({ event: 'withdrawn' });
    expect(await controller.next()).toEqual({ event: 'end', status: 'cancelled' });
  }, 60_000);
});
