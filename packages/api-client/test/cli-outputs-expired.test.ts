// `gpufleet download` of a task whose outputs the outputs retention deleted, against a real fleet:
// the task runs on the real tracker, the retention sweep archives it and sweepOutputs deletes its
// outputs (core's functions, as the sweep holder runs them). The download then exits 4 (the task
// or output does not exist: exit-codes.ts) and says when and why, rather than a bare not found.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  FINAL_STATUSES,
  LocalArtifactStore,
  queueKeys,
  sweepFinished,
  sweepOutputs,
  type RetentionPolicy,
} from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { parseJson, runCli, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;

const cli = (args: string[]) => runCli(args, { env: fleet.env });

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
});
afterAll(async () => {
  await fleet?.close();
});

it('download exits 4 and says the outputs retention deleted them', async () => {
  const submitted = await cli(['submit', 'probe', '--wait', '--json']);
  expect(submitted.code, submitted.stderr).toBe(0);
  const id = parseJson<{ tasks: Array<{ id: string }> }>(submitted).tasks[0]?.id ?? '';
  const out = await temp.make();
  const before = await cli(['download', id, '--out', join(out, 'before')]);
  expect(before.code, before.stderr).toBe(0);

  const policy: RetentionPolicy = {
    byStatus: Object.fromEntries(FINAL_STATUSES.map((s) => [s, 0])),
    tenants: {},
    outputsMs: 1000,
  };
  const options = {
    redis: redis.server.client(),
    keys: queueKeys(fleet.prefix, 'default'),
    store: new LocalArtifactStore(join(fleet.dir, 'artifacts')),
    policy,
    now: Date.now() + 5000,
  };
  expect(await sweepFinished(options)).toMatchObject({ removed: 1 });
  expect(await sweepOutputs(options)).toBe(1);

  const after = await cli(['download', id, '--out', join(out, 'after')]);
  expect(after.code, after.stdout).toBe(4);
  expect(after.stderr).toMatch(/outputs retention deleted this task's outputs at \d{4}-\d{2}-\d{2}/);
});
