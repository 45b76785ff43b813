// `gpufleet resubmit ID` and `client.resubmit(id)` against a real fleet (redis-server, the API
// server, a tracker running executer processes): a script task submitted with an input folder is
// submitted again; the new task runs on the tracker from the copied inputs and writes the same
// output. The command prints only the new id (`--json`: the API's answer with `resubmittedFrom`);
// a missing task exits 4, and so does a task whose input files are gone (INPUTS_GONE), naming the
// input. The client's resubmit sends an Idempotency-Key: the same key gives the same new task.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputsPrefix, LocalArtifactStore, newTaskId } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { GpufleetClient } from '@gpufleet/api-client';
import { parseJson, runCli, startCliFleet, writeFiles, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;
let client: GpufleetClient;

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
  client = new GpufleetClient({ url: fleet.url, token: fleet.token });
});
afterAll(async () => {
  await fleet?.close();
});

const cli = (args: string[]) => runCli(args, { env: fleet.env });

/** A script task that prints its input file, submitted with an input folder and run to its end. */
async function scriptTask(text: string): Promise<string> {
  const job = join(await temp.make(), 'job');
  await writeFiles(job, { 'run.sh': '#!/bin/sh\nset -e\ncat data/words.txt\n', 'data/words.txt': text });
  const task = await client.submit(
    { executer: 'script', gpus: 0, params: { script: 'run.sh' }, name: 'words' },
    { inputs: [job] },
  );
  expect((await task.wait({ timeoutMs: 20_000 })).status).toBe('succeeded');
  return task.id;
}

describe('gpufleet resubmit', () => {
  it('prints the new task’s id; the new task runs from the copied inputs', async () => {
    const old = await scriptTask('hello again\n');
    const result = await cli(['resubmit', old]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^[0-9a-z]{26}\n$/);
    const id = result.stdout.trim();
    expect(id).not.toBe(old);
    const ended = await client.task(id).wait({ timeoutMs: 20_000 });
    expect(ended).toMatchObject({ status: 'succeeded', name: 'words', resubmittedFrom: old });
    expect((await client.task(id).logs({ stream: 'stdout' })).text).toBe('hello again\n');

    const json = parseJson<{ id: string; resubmittedFrom: string; replayed: boolean }>(
      await cli(['resubmit', old, '--json']),
    );
    expect(json).toMatchObject({ resubmittedFrom: old, replayed: false });
    expect(json.id).not.toBe(id);
    await client.task(json.id).wait({ timeoutMs: 20_000 });
  });

  it('exits 4 for a missing task, and for a task whose input files are gone, naming the input', async () => {
    const missing = await cli(['resubmit', newTaskId(Date.now())]);
    expect(missing.code).toBe(4);
    const old = await scriptTask('soon gone\n');
    const { tenant } = await client.getTask(old);
    const store = new LocalArtifactStore(join(fleet.dir, 'artifacts'));
    await store.deletePrefix(`${inputsPrefix(tenant, old)}/data`);
    const gone = await cli(['resubmit', old]);
    expect(gone.code).toBe(4);
    expect(gone.stdout).toBe('');
    expect(gone.stderr).toContain('"data/words.txt"');
    expect(gone.stderr).toContain('no longer in the artifact store');
  });
});

describe('client.resubmit', () => {
  it('answers with the new task and the old id; the same Idempotency-Key gives the same task', async () => {
    const old = await scriptTask('twice\n');
    const first = await client.resubmit(old, { idempotencyKey: 'resubmit-once' });
    expect(first.submission).toMatchObject({ resubmittedFrom: old, replayed: false, status: 'queued' });
    expect(first.idempotencyKey).toBe('resubmit-once');
    const again = await client.resubmit(old, { idempotencyKey: 'resubmit-once' });
    expect(again.submission).toMatchObject({ id: first.id, replayed: true, resubmittedFrom: old });
    expect((await first.wait({ timeoutMs: 20_000 })).status).toBe('succeeded');
  });
});
