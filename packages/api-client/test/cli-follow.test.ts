// The `gpufleet` binary following tasks on a real fleet: `logs -f` until the end (text and
// NDJSON), `submit --follow`, `cancel`, `status`, `wait`, the fleet views, and the spinner: drawn
// on a terminal, absent when the output is piped.
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import {
  BIN,
  parseJson,
  parseNdjson,
  runCli,
  startCli,
  startCliFleet,
  writeFiles,
  type CliFleet,
} from './helpers/cli-fleet.js';

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

/** A script that waits for `gate` to exist, printing before and after, then exits `code`. */
async function gatedJob(code = 0): Promise<{ job: string; gate: string }> {
  const dir = await temp.make();
  const gate = join(dir, 'gate');
  await writeFiles(join(dir, 'job'), {
    'run.sh': [
      '#!/bin/sh',
      'echo "line one"',
      'echo "warning on stderr" >&2',
      `while [ ! -e '${gate}' ]; do sleep 0.05; done`,
      'for i in 2 3 4; do echo "line $i"; done',
      `exit ${code}`,
      '',
    ].join('\n'),
  });
  return { job: join(dir, 'job'), gate };
}

async function submitJob(job: string): Promise<string> {
  const result = await cli(['submit', 'script', '--param', 'script=run.sh', '--input', job]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

async function statusOf(id: string): Promise<string> {
  return parseJson<{ status: string }>(await cli(['status', id, '--json'])).status;
}

describe('gpufleet logs -f', () => {
  it('streams stdout and stderr while the task runs and exits 0 when it succeeded', async () => {
    const { job, gate } = await gatedJob();
    const id = await submitJob(job);
    const follower = startCli(['logs', id, '-f'], { env: fleet.env });
    await waitFor(
      () => follower.stdout.includes('line one') && follower.stderr.includes('warning on stderr'),
      {
        message: 'the first lines while the task still runs',
      },
    );
    expect(await statusOf(id)).toBe('running');
    await writeFile(gate, '');
    const result = await follower.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('line one\nline 2\nline 3\nline 4\n');
    expect(result.stderr).toBe('warning on stderr\n');
  });

  it('with --json writes one line object per output line, then the end; exit 1 on failure', async () => {
    const { job, gate } = await gatedJob(7);
    const id = await submitJob(job);
    const follower = startCli(['logs', id, '-f', '--json'], { env: fleet.env });
    await waitFor(() => follower.stdout.includes('line one'));
    await writeFile(gate, '');
    const result = await follower.done;
    expect(result.code).toBe(1);
    const records = parseNdjson<Record<string, unknown>>(result.stdout);
    expect(records.filter((r) => r.type === 'log' && r.stream === 'stdout').map((r) => r.line)).toEqual([
      'line one',
      'line 2',
      'line 3',
      'line 4',
    ]);
    expect(records.at(-1)).toMatchObject({
      type: 'end',
      taskId: id,
      status: 'failed',
      exitCode: 7,
      errorCode: 'EXIT_NONZERO',
    });
    const text = parseJson<{ text: string; complete: boolean }>(await cli(['logs', id, '--json']));
    expect(text.text).toContain('line 4');
    const stderrOnly = await cli(['logs', id, '--stream', 'stderr']);
    expect(stderrOnly.stdout).toBe('warning on stderr\n');
    // `status` shows the failure code beside the error, and --json carries it as errorCode.
    const shown = await cli(['status', id]);
    expect(shown.stdout).toMatch(/^error \(EXIT_NONZERO\): +the executer exited with code 7/m);
    expect(parseJson<{ errorCode: string }>(await cli(['status', id, '--json'])).errorCode).toBe(
      'EXIT_NONZERO',
    );
  });

  it('submit --follow prints the output and exits with the task’s outcome', async () => {
    const dir = await temp.make();
    await writeFiles(dir, { 'run.sh': '#!/bin/sh\necho "followed $GPUFLEET_TASK_ID"\n' });
    const result = await cli([
      'submit',
      'script',
      '--param',
      'script=run.sh',
      '--input',
      join(dir, 'run.sh'),
      '--follow',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const [id, line] = result.stdout.split('\n');
    expect(line).toBe(`followed ${id}`);
    const json = await cli([
      'submit',
      'script',
      '--param',
      'script=run.sh',
      '--input',
      join(dir, 'run.sh'),
      '--follow',
      '--json',
    ]);
    expect(json.code, json.stderr).toBe(0);
    const records = parseNdjson<Record<string, unknown>>(json.stdout);
    expect(records.map((r) => r.type)).toEqual(['submitted', 'log', 'end', 'summary']);
    expect(records[1]).toEqual({
      type: 'log',
      taskId: records[0]?.id,
      stream: 'stdout',
      line: `followed ${records[0]?.id}`,
    });
    expect(records[2]).toMatchObject({ status: 'succeeded', exitCode: 0 });
  });
});

describe('gpufleet cancel', () => {
  it('stops a running task; wait then reports it cancelled and exits 1', async () => {
    const { job } = await gatedJob();
    const id = await submitJob(job);
    await waitFor(async () => (await statusOf(id)) === 'running');
    const cancelled = await cli(['cancel', id, '--wait', '--json']);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(parseJson<{ tasks: Array<{ id: string; status: string }> }>(cancelled).tasks).toEqual([
      expect.objectContaining({ id, status: 'cancelled' }),
    ]);
    expect(await statusOf(id)).toBe('cancelled');
    const waited = await cli(['wait', id]);
    expect(waited.code).toBe(1);
    expect(waited.stdout).toMatch(new RegExp(`^${id} cancelled`));
    expect((await cli(['cancel', id])).code).toBe(0); // cancelling a cancelled task again is fine
  });

  it('exits 1 for a task that already ended, 4 for one that does not exist, handling each id', async () => {
    const done = (await cli(['submit', 'noop', '--gpus', '0', '--wait'])).stdout.trim();
    const queued = await submitJob((await gatedJob()).job);
    const finished = await cli(['cancel', done, queued, '--json']);
    expect(finished.code).toBe(1);
    const { tasks } = parseJson<{ tasks: Array<{ id: string; error?: { code: string }; status?: string }> }>(
      finished,
    );
    expect(tasks[0]).toMatchObject({ id: done, error: { code: 'TASK_FINISHED' } });
    expect(tasks[1]?.id).toBe(queued);
    expect(tasks[1]?.error).toBeUndefined();
    expect((await cli(['cancel', '01jd3xk4m7n8p9q0r1s2t3v4w5'])).code).toBe(4);
  });
});

describe('the fleet views', () => {
  it('lists executers, queues and trackers', async () => {
    const executers = parseJson<{ executers: Array<{ name: string }> }>(await cli(['executers', '--json']));
    expect(executers.executers.map((e) => e.name)).toEqual(
      expect.arrayContaining(['script', 'probe', 'sph', 'noop']),
    );
    const queues = parseJson<{ queues: Array<{ queue: string; liveTrackers: number }> }>(
      await cli(['queues', '--json']),
    );
    expect(queues.queues).toEqual([expect.objectContaining({ queue: 'default', liveTrackers: 1 })]);
    const trackers = parseJson<{ trackers: Array<{ gpus: unknown[]; cpuSlots: number }> }>(
      await cli(['trackers', '--json']),
    );
    expect(trackers.trackers).toEqual([expect.objectContaining({ cpuSlots: 2 })]);
    expect(trackers.trackers[0]?.gpus).toHaveLength(4);
    const table = await cli(['executers']);
    expect(table.stdout).toMatch(/^NAME +VERSION +QUEUE/);
    expect(table.stdout).toMatch(/\nprobe +1\.0\.0 +default/);
  });
});

// `script` (util-linux) runs a command on a pseudo-terminal.
const hasScript = spawnSync('script', ['--version']).status === 0;

describe('the spinner', () => {
  it.skipIf(!hasScript)('is drawn on a terminal and absent when the output is piped', async () => {
    const { job, gate } = await gatedJob();
    const id = await submitJob(job);
    await waitFor(async () => (await statusOf(id)) === 'running');
    const piped = startCli(['wait', id], { env: fleet.env });
    // `script` gives the command a terminal; its output is what the terminal would show.
    const command = [process.execPath, BIN, 'wait', id].map((a) => `'${a}'`).join(' ');
    const tty = spawn('script', ['-qec', command, '/dev/null'], { env: { ...fleet.env, TERM: 'xterm' } });
    let screen = '';
    tty.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const ttyDone = new Promise((resolve) => tty.once('close', resolve));
    try {
      await waitFor(() => screen.includes('waiting for 1 task: 1 running'), { message: 'the spinner' });
    } finally {
      await writeFile(gate, '');
    }
    const result = await piped.done;
    await ttyDone;
    expect(screen).toMatch(/\r\x1b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] waiting for 1 task/);
    expect(screen).toContain(`${id} succeeded`);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${id} succeeded\n`);
    expect(result.stderr).toBe('');
  });
});
