// Service tasks' endpoints through the client and the `gpufleet` command, on a real fleet whose
// tracker also loads the tracker's service fixtures (packages/tracker/test/fixtures/services:
// `svc-tcp`, a TCP line server on `control` answering PING with PONG and an HTTP server on `http`,
// ready by a TCP connect, restarted twice): waitForEndpoints resolving only once the service is
// ready, rejecting when the task fails first or past its timeout; followEndpoints across restarts;
// `endpoints` (plain, --json, --wait, not ready: exit 5), `submit --wait-ready`, `ls` and `status`.
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_DIR } from '@gpufleet/executers';
import { askLine, endpointHost, endpointPort, useRedis, useTempDirs } from '@gpufleet/testkit';
import {
  GpufleetClient,
  TaskEndedError,
  WaitTimeoutError,
  type ServiceEndpoints,
  type ServiceEvent,
  type TaskSummary,
} from '@gpufleet/api-client';
import { PROBE_EXECUTERS, parseJson, runCli, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const SERVICES = fileURLToPath(new URL('../../tracker/test/fixtures/services', import.meta.url));
const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;
let client: GpufleetClient;
/** Tasks a test started: cancelled after it, so their CPU slots are free for the next. */
const started: string[] = [];

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp, {
    trackerEnv: {
      GPUFLEET_EXECUTERS: `${CATALOG_DIR}:${PROBE_EXECUTERS}:${SERVICES}`,
      GPUFLEET_ADVERTISE_HOST: '127.0.0.1',
      GPUFLEET_PORT_RANGE: '23000-23999',
      GPUFLEET_CPU_SLOTS: '4',
    },
  });
  client = new GpufleetClient({ url: fleet.url, token: fleet.token });
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((id) => client.cancel(id).catch(() => undefined)));
});
afterAll(async () => {
  await fleet?.close();
});

const cli = (args: string[]) => runCli(args, { env: fleet.env });

async function submit(params: Record<string, unknown>, extra: { gpus?: number } = {}): Promise<string> {
  const task = await client.submit({ executer: 'svc-tcp', params, ...extra, waitForCapacity: true });
  started.push(task.id);
  return task.id;
}

/** The first `service` event of the task that `matches`, from its event stream. */
async function nextService(id: string, matches: (e: ServiceEvent) => boolean): Promise<ServiceEvent> {
  for await (const event of client.task(id).events()) {
    if (event.type === 'service' && matches(event)) return event;
  }
  throw new Error(`task ${id} ended before the service event looked for`);
}

/** Sends a line to a service's control endpoint (`host:port`) and reads the answer. */
const ask = (endpoint: string | undefined, line: string): Promise<string> =>
  askLine(endpointHost(endpoint), endpointPort(endpoint), line);

describe('waitForEndpoints and followEndpoints', () => {
  it('resolves with the endpoints only once the service is ready, and its control port answers', async () => {
    const id = await submit({ readyDelayMs: 800 });
    let resolved = false;
    const waiting = client.waitForEndpoints(id, { timeoutMs: 20_000 }).then((ready) => {
      resolved = true;
      return ready;
    });
    await nextService(id, (e) => e.state === 'starting');
    const before = await client.getTask(id);
    expect(before.service).toMatchObject({ state: 'starting', endpoints: null, readyAt: null });
    expect(resolved).toBe(false);

    const ready = await waiting;
    expect(ready).toMatchObject({ taskId: id, attempt: 1, tracker: before.tracker });
    expect(Object.keys(ready.endpoints).sort()).toEqual(['control', 'http']);
    expect(ready.endpoints['control']).toMatch(/^127\.0\.0\.1:23\d{3}$/);
    expect(Date.parse(ready.readyAt ?? '')).toBeGreaterThanOrEqual(Date.parse(before.startedAt ?? ''));
    expect(await ask(ready.endpoints['control'], 'PING')).toBe('PONG');
    const after = await client.getTask(id);
    expect(after.service).toMatchObject({ state: 'ready', endpoints: ready.endpoints, restarts: 0 });
    // Asked again while it is ready: answered at once, from the state sent when the follow begins.
    expect((await client.task(id).waitForEndpoints({ timeoutMs: 5000 })).endpoints).toEqual(ready.endpoints);

    // Followed, then cancelled: the endpoints, then their withdrawal, then the final status.
    const changes: Array<ServiceEndpoints | null> = [];
    const following = client.followEndpoints(id, (change) => {
      changes.push(change);
      if (change !== null) void client.cancel(id);
    });
    expect((await following).status).toBe('cancelled');
    expect(changes).toEqual([expect.objectContaining({ endpoints: ready.endpoints }), null]);
  });

  it('follows the endpoints across restarts: each ready, each withdrawal, until the task fails', async () => {
    const id = await submit({ exitAfterMs: 1500 });
    const changes: Array<ServiceEndpoints | null> = [];
    const final = await client.followEndpoints(id, (change) => changes.push(change));
    expect(final.status).toBe('failed');
    const ready = expect.objectContaining({ taskId: id, endpoints: expect.any(Object) });
    // Its first start and two restarts (svc-tcp's policy), each exiting 1.5 s after it started.
    expect(changes).toEqual([ready, null, ready, null, ready, null]);
  });

  it('rejects naming the final status when the task fails before its service is ready', async () => {
    const id = await submit({ exitAfterMs: 100, readyDelayMs: 5000 });
    const error = await client.waitForEndpoints(id, { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskEndedError);
    expect(error).toMatchObject({ code: 'TASK_ENDED', taskId: id, status: 'failed', exitCode: 7 });
    expect((error as Error).message).toMatch(
      new RegExp(`task ${id} ended failed before its service was ready`),
    );

    // The command: waiting ends with exit 1 and the status; without --wait an ended task is exit 1.
    const waited = await cli(['endpoints', id, '--wait']);
    expect(waited.code).toBe(1);
    expect(waited.stderr).toMatch(/ended failed before its service was ready/);
    const now = await cli(['endpoints', id]);
    expect(now.code).toBe(1);
    expect(now.stderr).toMatch(/ended.*failed/);
    const submitted = await cli([
      'submit',
      'svc-tcp',
      '-p',
      'exitAfterMs=100',
      '-p',
      'readyDelayMs=5000',
      '--wait-ready',
      '--json',
    ]);
    expect(submitted.code, submitted.stderr).toBe(1);
    expect(parseJson<{ tasks: unknown[] }>(submitted).tasks).toEqual([
      expect.objectContaining({ status: 'failed', endpoints: null, exitCode: 7 }),
    ]);
  });

  it('times out while the service is starting, naming its state; the command exits 5', async () => {
    const id = await submit({ readyDelayMs: 60_000 });
    await nextService(id, (e) => e.state === 'starting');
    const error = await client.waitForEndpoints(id, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toMatch(
      /not ready within 300 ms \(it is running, its service starting\)/,
    );

    const plain = await cli(['endpoints', id]);
    expect(plain.code).toBe(5);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(new RegExp(`task ${id} is not ready: its service is starting`));
    const json = await cli(['endpoints', id, '--json']);
    expect(json.code).toBe(5);
    expect(parseJson(json)).toMatchObject({
      taskId: id,
      status: 'running',
      state: 'starting',
      endpoints: null,
    });
    const waited = await cli(['endpoints', id, '--wait', '--timeout', '300ms']);
    expect(waited.code).toBe(5);
    expect(waited.stderr).toMatch(/not ready within 300 ms/);
    const submitted = await cli([
      'submit',
      'svc-tcp',
      '-p',
      'readyDelayMs=60000',
      '--wait-ready',
      '--ready-timeout',
      '300ms',
    ]);
    started.push(submitted.stdout.split('\n')[0] ?? '');
    expect(submitted.code).toBe(5);
    expect(submitted.stderr).toMatch(/not ready within 300 ms/);
    const usage = await cli(['endpoints', id, '--timeout', '1s']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--timeout .*--wait/);

    // Queued (more GPUs than the tracker has): not ready either, its status said.
    const queued = await submit({}, { gpus: 8 });
    const waiting = await cli(['endpoints', queued]);
    expect(waiting.code).toBe(5);
    expect(waiting.stderr).toMatch(new RegExp(`task ${queued} is not ready: it is queued`));
  });
});

describe('the gpufleet command', () => {
  it('prints a ready service’s endpoints: endpoints, endpoints --json, ls, status', async () => {
    const id = await submit({});
    const ready = await client.waitForEndpoints(id, { timeoutMs: 20_000 });
    const control = ready.endpoints['control'] ?? '';
    const http = ready.endpoints['http'] ?? '';

    const plain = await cli(['endpoints', id]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.split('\n').filter(Boolean)).toEqual([`control  ${control}`, `http     ${http}`]);
    expect(plain.stderr).toMatch(/ready for \d+(ms|s)/);

    const json = await cli(['endpoints', id, '--json']);
    expect(json.code).toBe(0);
    expect(parseJson(json)).toEqual({
      taskId: id,
      status: 'running',
      state: 'ready',
      endpoints: ready.endpoints,
      readyAt: ready.readyAt,
      reason: null,
    });
    expect(parseJson(await cli(['endpoints', id, '--wait', '--json']))).toMatchObject({
      state: 'ready',
      endpoints: ready.endpoints,
    });

    const ls = await cli(['ls', '--executer', 'svc-tcp', '--status', 'running']);
    expect(ls.code).toBe(0);
    const [header = '', ...rows] = ls.stdout.split('\n');
    expect(header).toMatch(/STATUS\s+SERVICE\s+EXECUTER/);
    expect(rows.find((r) => r.startsWith(id))).toMatch(
      new RegExp(`running\\s+ready \\S+ control=${control} \\+1\\s+svc-tcp`),
    );
    const listed = parseJson<{ items: TaskSummary[] }>(await cli(['ls', '--json', '--executer', 'svc-tcp']));
    expect(listed.items.find((t) => t.id === id)?.service).toMatchObject({
      state: 'ready',
      endpoints: ready.endpoints,
      readyAt: ready.readyAt,
      restarts: 0,
      reason: null,
    });

    const status = await cli(['status', id]);
    expect(status.stdout).toMatch(/service:\s+ready for \S+ \(since .+\), 0 restarts/);
    expect(status.stdout).toContain(`endpoints:`);
    expect(status.stdout).toContain(`control=${control}, http=${http}`);
  });

  it('status and endpoints say why a service’s lifetime ended it', async () => {
    const aged = await client.submit({ executer: 'svc-aged', params: {} });
    expect((await aged.wait({ timeoutMs: 20_000 })).serviceStopped).toEqual(expect.any(String));
    const status = await cli(['status', aged.id]);
    expect(status.stdout).toMatch(/service stopped: +\S+/);
    expect(status.stdout).not.toMatch(/^endpoints:/m);
    const endpoints = await cli(['endpoints', aged.id]);
    expect(endpoints.code).toBe(1);
    expect(endpoints.stderr).toMatch(
      new RegExp(`task ${aged.id} ended, it has no endpoints: succeeded \\(.+\\)`),
    );
  });

  it('submit --wait-ready waits for the endpoints and prints them; refuses --wait and --follow', async () => {
    const result = await cli(['submit', 'svc-tcp', '-p', 'readyDelayMs=300', '--wait-ready', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const [task] = parseJson<{ tasks: Array<{ id: string; endpoints: Record<string, string> }> }>(
      result,
    ).tasks;
    started.push(task?.id ?? '');
    expect(task).toMatchObject({
      status: 'running',
      endpoints: { control: expect.stringMatching(/^127\.0\.0\.1:/) },
    });
    expect(await ask(task?.endpoints['control'], 'PING')).toBe('PONG');

    const plain = await cli(['submit', 'svc-tcp', '--wait-ready']);
    expect(plain.code, plain.stderr).toBe(0);
    const [id = '', ...lines] = plain.stdout.split('\n').filter(Boolean);
    started.push(id);
    expect(lines).toEqual([
      expect.stringMatching(/^control {2}127\.0\.0\.1:\d+$/),
      expect.stringMatching(/^http {5}/),
    ]);

    const refused = await cli(['submit', 'svc-tcp', '--wait-ready', '--wait', '--follow']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--wait-ready cannot be combined with --wait or --follow/);
  });
});
