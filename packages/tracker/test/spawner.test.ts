// The spawner (gpufleet-task-init --serve) with real processes: what a started process gets (argv,
// environment, folder, log files), how its end is reported, what a program that cannot start
// says, and what happens to running processes when the spawner or the tracker dies.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { getPriority, release, setPriority } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@gpufleet/core';
import { useTempDirs, waitFor } from '@gpufleet/testkit';
import { preciseNow, resolveTaskInit, Spawner, type SpawnRequest } from '@gpufleet/tracker';
import { processStartTime, procStatFields } from '../src/process/proc-info.js';
import { processAlive } from './helpers/tracker-process.js';

const temp = useTempDirs();
let init: string;
const spawners: Spawner[] = [];
afterEach(async () => Promise.all(spawners.splice(0).map((s) => s.close())));

beforeAll(async () => {
  const built = await resolveTaskInit('auto', await temp.make(), silentLogger());
  if (!built) throw new Error('no C compiler: gpufleet-task-init cannot be built');
  init = built;
});

function newSpawner(graceMs = 1000): Spawner {
  const spawner = new Spawner(init, graceMs, silentLogger());
  spawners.push(spawner);
  return spawner;
}

async function request(
  dir: string,
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<SpawnRequest> {
  return {
    file,
    args,
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdoutPath: join(dir, 'out.txt'),
    stderrPath: join(dir, 'err.txt'),
  };
}

/**
 * A program `gpufleet-tool` in two folders, the first with `firstMode`, the second executable, each
 * printing which it is, and a PATH with both in that order.
 */
async function twoTools(
  firstMode: number,
): Promise<{ first: string; second: string; env: Record<string, string> }> {
  const [first, second] = [await temp.make(), await temp.make()];
  await writeFile(join(first, 'gpufleet-tool'), '#!/bin/sh\necho from first\n', { mode: firstMode });
  await writeFile(join(second, 'gpufleet-tool'), '#!/bin/sh\necho from second\n', { mode: 0o755 });
  return { first, second, env: { PATH: `${first}:${second}:/usr/bin:/bin` } };
}

/** Fields 4 (parent) and 5 (process group) of /proc/<pid>/stat; null once it is gone or a zombie. */
function statOf(pid: number): { ppid: number; pgid: number } | null {
  const [state, ppid, pgid] = procStatFields(pid) ?? ['Z'];
  return state === 'Z' ? null : { ppid: Number(ppid), pgid: Number(pgid) };
}

/** The live processes of a process group. */
async function groupMembers(pgid: number): Promise<number[]> {
  const members: number[] = [];
  for (const name of await readdir('/proc')) {
    if (/^\d+$/.test(name) && statOf(Number(name))?.pgid === pgid) members.push(Number(name));
  }
  return members;
}

/** The scheduler’s time slice of a process (ns), from /proc/<pid>/sched; null where not shown. */
function sliceOf(pid: number | 'self'): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/sched`, 'utf8'); // absent without CONFIG_SCHED_DEBUG
  } catch {
    return null;
  }
  const line = /^se\.slice\s*:\s*(\d+)/m.exec(text);
  return line ? Number(line[1]) : null;
}

/** Custom slices for fair tasks (sched_setattr's sched_runtime) came with Linux 6.12. */
const [major = 0, minor = 0] = release().split('.').map(Number);
const customSlices = (major > 6 || (major === 6 && minor >= 12)) && sliceOf('self') !== null;

describe('spawner', () => {
  it('runs the program with exactly its argv, environment and folder, output in the log files, and reports its exit', async () => {
    const dir = await temp.make();
    const hostile = ['; rm -rf /', '$(touch canary)', '`id`', 'two\nlines', '--flag'];
    const script =
      'console.log(JSON.stringify({argv: process.argv.slice(1), env: process.env, cwd: process.cwd()})); console.error("to stderr"); process.exit(7)';
    const started = await newSpawner().spawn(
      await request(dir, process.execPath, ['-e', script, ...hostile], { ONLY_THIS: 'yes' }),
    );
    if (!started.ok) throw new Error(started.reason);
    expect(await started.exit).toEqual({ exitCode: 7, signal: null, at: expect.any(Number) as number });
    const seen = JSON.parse(await readFile(join(dir, 'out.txt'), 'utf8')) as {
      argv: string[];
      env: Record<string, string>;
      cwd: string;
    };
    expect(seen.argv).toEqual(hostile);
    expect(seen.env.ONLY_THIS).toBe('yes');
    expect(seen.env.HOME).toBeUndefined();
    expect(seen.cwd).toBe(dir);
    expect(await readFile(join(dir, 'err.txt'), 'utf8')).toBe('to stderr\n');
    expect(started.pidStartTime).toMatch(/^\d+$/);
  });

  it('reports a program killed by a signal, and kills what it left in its group', async () => {
    const dir = await temp.make();
    const started = await newSpawner().spawn(
      await request(dir, 'sh', ['-c', 'sleep 300 & sleep 0.2; kill -9 $$']),
    );
    if (!started.ok) throw new Error(started.reason);
    await waitFor(async () => (await groupMembers(started.pid)).length === 3, { timeoutMs: 3000 });
    expect(await started.exit).toEqual({
      exitCode: null,
      signal: 'SIGKILL',
      at: expect.any(Number) as number,
    });
    await waitFor(async () => (await groupMembers(started.pid)).length === 0, { timeoutMs: 3000 });
  });

  it('says why a program cannot start, with its errno, and leaves no process behind', async () => {
    const dir = await temp.make();
    const spawner = newSpawner();
    const missing = await spawner.spawn(await request(dir, 'gpufleet-no-such-program', []));
    expect(missing).toEqual({
      ok: false,
      reason: 'gpufleet-no-such-program: No such file or directory',
      code: 'ENOENT',
    });
    const badDir = await spawner.spawn({ ...(await request(dir, 'true', [])), cwd: join(dir, 'nope') });
    expect(badDir).toMatchObject({ ok: false, reason: expect.stringContaining('(cwd)') as string });
    const ok = await spawner.spawn(await request(dir, 'true', []));
    if (!ok.ok) throw new Error(ok.reason);
    expect(await ok.exit).toEqual({ exitCode: 0, signal: null, at: expect.any(Number) as number });
  });

  it('looks the program up on the task’s PATH, skipping a file it cannot run, as execvp does', async () => {
    const dir = await temp.make();
    const { first, second, env } = await twoTools(0o644);
    const spawner = newSpawner();
    const found = await spawner.spawn(await request(dir, 'gpufleet-tool', [], env));
    if (!found.ok) throw new Error(found.reason);
    expect(await found.exit).toEqual({ exitCode: 0, signal: null, at: expect.any(Number) as number });
    expect(await readFile(join(dir, 'out.txt'), 'utf8')).toBe('from second\n');
    // Not on the tracker's own PATH: only the task's environment counts.
    expect(process.env.PATH?.split(':')).not.toContain(second);
    const onlyUnrunnable = await spawner.spawn(
      await request(dir, 'gpufleet-tool', [], { PATH: `${first}:/usr/bin:/bin` }),
    );
    expect(onlyUnrunnable).toEqual({ ok: false, reason: 'gpufleet-tool: Permission denied', code: 'EACCES' });
    const byPath = await spawner.spawn(await request(dir, join(first, 'gpufleet-tool'), []));
    expect(byPath).toMatchObject({ ok: false, code: 'EACCES' });
  });

  it('looks a remembered program up again once it cannot be run where it was found', async () => {
    const dir = await temp.make();
    const { first, env } = await twoTools(0o755);
    const spawner = newSpawner();
    const outputOf = async (): Promise<string> => {
      const started = await spawner.spawn(await request(dir, 'gpufleet-tool', [], env));
      if (!started.ok) throw new Error(started.reason);
      await started.exit;
      return readFile(join(dir, 'out.txt'), 'utf8');
    };
    expect(await outputOf()).toBe('from first\n');
    expect(await outputOf()).toBe('from first\n'); // remembered
    await chmod(join(first, 'gpufleet-tool'), 0o644);
    expect(await outputOf()).toBe('from second\n');
  });

  it.skipIf(!customSlices)(
    'runs with a short time slice itself and starts programs with the default one, at its current nice value',
    async () => {
      const dir = await temp.make();
      const spawner = newSpawner();
      const first = await spawner.spawn(await request(dir, 'sleep', ['5'])); // alive while its parent is read
      if (!first.ok) throw new Error(first.reason);
      const spawnerPid = statOf(first.pid)?.ppid as number;
      process.kill(-first.pid, 'SIGKILL');
      await first.exit;
      expect(sliceOf(spawnerPid)).toBe(100_000);
      setPriority(spawnerPid, getPriority(spawnerPid) + 3); // reniced after it started
      const started = await spawner.spawn(await request(dir, 'sleep', ['5']));
      if (!started.ok) throw new Error(started.reason);
      expect(sliceOf(started.pid)).toBe(sliceOf('self'));
      expect(sliceOf(started.pid)).not.toBe(100_000);
      expect(getPriority(started.pid)).toBe(getPriority(spawnerPid));
      process.kill(-started.pid, 'SIGKILL');
      await started.exit;
    },
  );

  it('kills the processes it watched when the spawner itself dies, and starts a new one for the next', async () => {
    const dir = await temp.make();
    const spawner = newSpawner();
    const started = await spawner.spawn(await request(dir, 'sh', ['-c', 'sleep 300 & wait']));
    if (!started.ok) throw new Error(started.reason);
    await waitFor(async () => (await groupMembers(started.pid)).length === 2, { timeoutMs: 3000 });
    const spawnerPid = statOf(started.pid)?.ppid as number;
    expect(spawnerPid).not.toBe(process.pid);
    process.kill(spawnerPid, 'SIGKILL');
    expect(await started.exit).toEqual({ exitCode: null, signal: 'SIGKILL', lostSpawner: true });
    await waitFor(async () => (await groupMembers(started.pid)).length === 0, { timeoutMs: 3000 });
    const next = await spawner.spawn(await request(dir, 'true', []));
    if (!next.ok) throw new Error(next.reason);
    expect(await next.exit).toEqual({ exitCode: 0, signal: null, at: expect.any(Number) as number });
  });

  it('starts the program in its own process group inside the spawner’s session, and reports its start time', async () => {
    const dir = await temp.make();
    const started = await newSpawner().spawn(await request(dir, 'sleep', ['5']));
    if (!started.ok) throw new Error(started.reason);
    const [, , pgid, session] = procStatFields(started.pid) ?? [];
    const spawnerPid = statOf(started.pid)?.ppid as number;
    expect(Number(pgid)).toBe(started.pid);
    expect(Number(session)).toBe(Number(procStatFields(spawnerPid)?.[3]));
    expect(Number(session)).not.toBe(started.pid);
    // Read by the child from /proc/self/stat before its exec: the same as the kernel's record after.
    expect(started.pidStartTime).toBe(processStartTime(started.pid));
    process.kill(-started.pid, 'SIGKILL');
    await started.exit;
  });

  it('says when the program started and ended by the spawner’s clock, not when the tracker read it', async () => {
    const dir = await temp.make();
    const spawner = newSpawner();
    await spawner.spawn(await request(dir, 'true', [])); // the spawner is running before the clock starts
    const before = preciseNow();
    const pending = spawner.spawn(await request(dir, 'sleep', ['0.2']));
    const busyUntil = performance.now() + 150; // the tracker busy: the reply waits to be read
    while (performance.now() < busyUntil) {
      // the event loop is blocked on purpose
    }
    const started = await pending;
    const readAt = preciseNow();
    if (!started.ok) throw new Error(started.reason);
    expect(started.at).toBeGreaterThanOrEqual(before);
    expect(readAt - started.at).toBeGreaterThan(100);
    const exit = await started.exit;
    expect(exit.at).toBeDefined();
    expect((exit.at as number) - started.at).toBeGreaterThanOrEqual(190);
    expect((exit.at as number) - started.at).toBeLessThan(1000);
    expect(exit.at).toBeLessThanOrEqual(preciseNow());
  });

  it('kills every group it started when its tracker dies by SIGKILL: SIGTERM first, SIGKILL after the grace', async () => {
    const dir = await temp.make();
    // A stand-in tracker: a Node process that starts a SIGTERM-deaf tree through the spawner.
    const owner = `
      import { Spawner } from '@gpufleet/tracker';
      const s = new Spawner(${JSON.stringify(init)}, 500, { error() {}, warn() {}, info() {} });
      const r = await s.spawn({ file: 'sh', args: ['-c', 'trap "" TERM; sleep 300 & sleep 300'],
        cwd: ${JSON.stringify(dir)}, env: { PATH: process.env.PATH }, stdoutPath: ${JSON.stringify(join(dir, 'o'))},
        stderrPath: ${JSON.stringify(join(dir, 'e'))} });
      console.log(r.ok ? String(r.pid) : r.reason);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', owner], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(String(d))),
    );
    const group = Number(line.trim());
    expect(group).toBeGreaterThan(0);
    await waitFor(async () => (await groupMembers(group)).length === 3, { timeoutMs: 3000 });
    const pids = await groupMembers(group);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await waitFor(() => pids.every((pid) => !processAlive(pid)), { timeoutMs: 5000, intervalMs: 20 });
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeGreaterThanOrEqual(400); // deaf to SIGTERM: it took the SIGKILL after the grace
    expect(tookMs).toBeLessThan(2500);
  });
});
