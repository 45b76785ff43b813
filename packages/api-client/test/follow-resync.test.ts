// Following a task's log when the place it was at is lost, on a real fleet: `gpufleet logs -f`
// whose live log was trimmed past it prints a one-line notice on stderr and goes on with the log
// from its start; the client's follow of a log replayed from output files (no ids to resume
// after) whose connection drops yields a `resync` before it replays it again.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { GpufleetClient } from '@gpufleet/api-client';
import { runCli, startCli, startCliFleet, writeFiles, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
});
afterAll(async () => {
  await fleet?.close();
});

/** A fetch whose first answer for a log follow breaks off after its first `log` event. */
function cuttingFetch(): typeof fetch {
  let cut = false;
  return async (input, init) => {
    const response = await fetch(input, init);
    if (cut || !String(input).includes('/logs') || !response.body) return response;
    cut = true;
    const reader = response.body.getReader();
    let text = '';
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done) return controller.close();
        text += new TextDecoder().decode(value);
        const first = text.indexOf('event: log');
        if (first < 0) return controller.enqueue(value);
        const end = text.indexOf('\n\n', first);
        if (end < 0) return controller.enqueue(value);
        controller.enqueue(new TextEncoder().encode(text.slice(0, end + 2)));
        await reader.cancel();
        controller.error(new Error('connection cut'));
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

describe('a follow that lost its place', () => {
  it('gpufleet logs -f says so on stderr in one line and prints the log again from its start', async () => {
    const dir = await temp.make();
    const gate = join(dir, 'gate');
    await writeFiles(join(dir, 'job'), {
      'run.sh': [
        '#!/bin/sh',
        'echo "line one"',
        `while [ ! -e '${gate}' ]; do sleep 0.05; done`,
        'echo "line two"',
        '',
      ].join('\n'),
    });
    const submitted = await runCli(
      ['submit', 'script', '--param', 'script=run.sh', '--input', join(dir, 'job')],
      { env: fleet.env },
    );
    const id = submitted.stdout.trim();
    const follower = startCli(['logs', id, '-f'], { env: fleet.env });
    await waitFor(() => follower.stdout.includes('line one'));
    // More output at once than the API's feed reads in a round, trimmed in the same step.
    const key = queueKeys(fleet.prefix, 'default').log(id);
    const client = redis.server.client();
    const ms = Date.now() + 1000;
    const step = client.multi();
    for (let i = 1; i <= 600; i++) step.xadd(key, `${ms}-${i}`, 's', 'stdout', 'd', `noise ${i}\n`);
    step.xtrim(key, 'MINID', `${ms}-101`);
    await step.exec();
    await waitFor(() => follower.stderr.includes('starts again from the beginning'));
    await writeFile(gate, '');
    const result = await follower.done;
    expect(result.code).toBe(0);
    const notices = result.stderr.split('\n').filter((line) => line.startsWith(`gpufleet: task ${id}:`));
    expect(notices).toHaveLength(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('line one');
    expect(lines.slice(1, 501)).toEqual(Array.from({ length: 500 }, (_, i) => `noise ${i + 101}`));
    expect(lines.slice(501)).toEqual(['line two']);
  });

  it('the client yields a resync before a log replayed from its output files starts again', async () => {
    const client = new GpufleetClient({ url: fleet.url, token: fleet.token, fetch: cuttingFetch() });
    const task = await client.submit({ executer: 'probe', params: { sleepMs: 1 } });
    expect((await task.wait()).status).toBe('succeeded');
    await redis.server.client().del(queueKeys(fleet.prefix, 'default').log(task.id)); // its grace passed
    const items = [];
    for await (const item of task.followLogs()) items.push(item.type === 'log' ? item.text : item.type);
    const stdout = `probe ${task.id} starting\n`;
    expect(items).toEqual([stdout, 'resync', stdout, 'probe: a line on stderr\n', 'end']);
  });
});
