// A task's env setup line (the spec's `envSetup`), with real Redis, a real tracker and real
// processes: with GPUFLEET_ALLOW_ENV_SETUP it runs in the executer's own shell before it (what it
// exports or sources reaches the executer, a sourced script sees none of the executer's
// arguments), the parameters reach the executer verbatim and are never read by that shell, and a
// failing line fails the task with its status and says so on stderr, the executer not run; a
// service's line runs too, the service `exec`ed in the shell's place (the pid the tracker keeps is
// the service's). A tracker without the setting ends such a task ENV_SETUP_NOT_ALLOWED before any
// process, and its registration says which it is.
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cancelTask, enqueue, listTrackers, type TaskRecord } from '@gpufleet/core';
import { loadTrackerConfig } from '@gpufleet/tracker';
import { askLine, endpointPort, uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { startTestTracker, useTrackers, waitForFinal } from './helpers/fleet.js';
import { SERVICES } from './helpers/services.js';
import { nextEvent, recordEvents } from './helpers/tracker-events.js';

const ENV_EXECUTERS = fileURLToPath(new URL('./fixtures/env-executers', import.meta.url));

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

/** A tracker with the env-probe executer (and the service fixtures), allowed env setup lines or not. */
async function envFleet(allowEnvSetup: boolean) {
  const prefix = uniquePrefix();
  const artifactDir = await temp.make();
  const tracker = await startTestTracker({
    redisUrl: redis.server.url,
    prefix,
    artifactDir,
    workDir: await temp.make(),
    executerPaths: [ENV_EXECUTERS, SERVICES],
    cpuSlots: 2,
    allowEnvSetup,
  });
  trackers.push(tracker);
  const client = redis.server.client();
  const submit = async (spec: Record<string, unknown>): Promise<string> =>
    (await enqueue({ redis: client, prefix }, { executer: 'env-probe', ...spec })).id;
  const run = async (spec: Record<string, unknown>): Promise<TaskRecord> =>
    waitForFinal(client, tracker.keys, await submit(spec));
  const outputs = (record: TaskRecord): string[] => record.outputs?.files.map((f) => f.path) ?? [];
  const report = async (record: TaskRecord): Promise<{ greeting: string | null; args: string[] }> =>
    JSON.parse(await readFile(join(artifactDir, record.outputs?.prefix ?? '', 'report.json'), 'utf8')) as {
      greeting: string | null;
      args: string[];
    };
  const registration = async () =>
    (await listTrackers(client, tracker.keys)).find((t) => t.name === tracker.name);
  return { tracker, client, submit, run, outputs, report, registration };
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

describe('env setup lines', () => {
  it('reads GPUFLEET_ALLOW_ENV_SETUP, off by default', () => {
    const base = { GPUFLEET_EXECUTERS: '.' };
    expect(loadTrackerConfig(base, '/srv').allowEnvSetup).toBe(false);
    expect(loadTrackerConfig({ ...base, GPUFLEET_ALLOW_ENV_SETUP: 'true' }, '/srv').allowEnvSetup).toBe(true);
  });

  it('runs the line in the executer’s shell first; the parameters reach the executer verbatim, never run', async () => {
    const { run, report, registration } = await envFleet(true);
    expect((await registration())?.envSetup).toBe(true);
    const dir = await temp.make();
    const marker = join(dir, 'pwned');
    const hostile = [
      `$(touch ${marker}); echo pwned`,
      `\`touch ${marker}\``,
      `it's "$GREETING"; touch ${marker}`,
      '"$@"',
      '',
    ];
    const exported = await run({ envSetup: 'export GREETING=hello-from-env', params: { args: hostile } });
    expect(exported.status).toBe('succeeded');
    expect(await report(exported)).toMatchObject({ greeting: 'hello-from-env', args: hostile });
    expect(await exists(marker)).toBe(false);

    // `source` in the same shell; the sourced script sees no positional parameters of the executer's.
    const script = join(dir, 'activate.sh');
    await writeFile(script, '[ "$#" -eq 0 ] || exit 9\nexport GREETING="sourced:$((6 * 7))"\n');
    const sourced = await run({ envSetup: `source ${script}`, params: { args: ['--flag', 'x'] } });
    expect(sourced.status).toBe('succeeded');
    expect(await report(sourced)).toMatchObject({ greeting: 'sourced:42', args: ['--flag', 'x'] });

    // Without a line, nothing of the kind.
    expect(await report(await run({ params: { args: ['plain'] } }))).toMatchObject({
      greeting: null,
      args: ['plain'],
    });
  }, 30_000);

  it('fails the task with the line’s exit status and says so on stderr, the executer not run', async () => {
    const { run, outputs } = await envFleet(true);
    const [falsy, seven] = await Promise.all([
      run({ envSetup: 'false', params: { args: ['never'] } }),
      run({ envSetup: 'test -n "" || (exit 7)', params: {} }),
    ]);
    expect(falsy).toMatchObject({ status: 'failed', errorCode: 'EXIT_NONZERO', exitCode: 1 });
    expect(falsy.stderrTail).toContain('gpufleet: the env setup line failed (exit 1)');
    expect(outputs(falsy)).not.toContain('report.json');
    expect(seven).toMatchObject({ status: 'failed', errorCode: 'EXIT_NONZERO', exitCode: 7 });
    expect(seven.stderrTail).toContain('gpufleet: the env setup line failed (exit 7)');
    expect(outputs(seven)).not.toContain('report.json');
  }, 30_000);

  it('runs a service’s line too, the service exec’d in the shell’s place', async () => {
    const { tracker, client, submit } = await envFleet(true);
    const marker = join(await temp.make(), 'line-ran');
    const id = await submit({ executer: 'svc-tcp', envSetup: `touch ${marker}`, params: {} });
    const ready = await nextEvent(tracker, 'service-ready', (e) => e.taskId === id);
    expect(await exists(marker)).toBe(true);
    // The process the tracker started (and kills) is the service itself, not a shell above it.
    const pid = await waitFor(() => client.hget(tracker.keys.task(id), 'pid'));
    expect(await askLine('127.0.0.1', endpointPort(ready.endpoints['control'] ?? ''), 'WHO')).toBe(
      `pid ${pid}`,
    );
    await cancelTask(client, tracker.keys, id, Date.now());
    expect((await waitForFinal(client, tracker.keys, id)).status).toBe('cancelled');
  }, 30_000);

  it('ends a task with a line failed, ENV_SETUP_NOT_ALLOWED, on a tracker without the setting', async () => {
    const { tracker, run, registration } = await envFleet(false);
    const registered = await registration();
    expect(registered?.executers).toContain('env-probe');
    expect(registered).not.toHaveProperty('envSetup');
    const events = recordEvents(tracker, ['spawned']);
    const refused = await run({ envSetup: 'export GREETING=hello-from-env', params: {} });
    expect(refused).toMatchObject({
      status: 'failed',
      errorCode: 'ENV_SETUP_NOT_ALLOWED',
      exitCode: null,
      error: `tracker "${tracker.name}" does not run env setup lines (GPUFLEET_ALLOW_ENV_SETUP is off)`,
    });
    expect(events).toEqual([]); // no process of it ever started
    // Its other tasks run as ever.
    expect((await run({ params: {} })).status).toBe('succeeded');
  }, 30_000);
});
