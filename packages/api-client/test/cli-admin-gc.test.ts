// `gpufleet admin gc` through the built binary against a real API (its default retention: 3 days
// for succeeded tasks) and Redis: two tasks that ended 4 days ago and one still waiting. --dry-run
// prints "would archive and remove 2 tasks" and changes nothing; --json archives and removes them
// and prints the API's answer with their ids, after which `status` finds them archived and the
// waiting task is still queued; a bad --limit is a usage error (exit 2) before anything is sent.
import { describe, expect, it } from 'vitest';
import { completeTask, enqueue, newToken, takeTask, TRACKER_GROUP } from '@gpufleet/core';
import type { GcResult } from '@gpufleet/api-client';
import { parseJson } from './helpers/cli-fleet.js';
import { useWaitingApi } from './helpers/waiting-api.js';

const fleet = useWaitingApi('gc');
const DAY = 86_400_000;

/** A probe task created 5 days ago; `endedDaysAgo` ends it succeeded that long ago, else it waits. */
async function oldTask(endedDaysAgo?: number): Promise<string> {
  const redis = fleet.redis.server.client();
  const created = Date.now() - 5 * DAY;
  const { id } = await enqueue({ redis, prefix: fleet.prefix, now: () => created }, { executer: 'probe' });
  if (endedDaysAgo === undefined) return id;
  const keys = fleet.keys;
  await redis.xgroup('CREATE', keys.tasks(0), TRACKER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
  const taken = await takeTask(redis, keys, {
    consumer: 'gc-test',
    sizes: [{ gpus: 0, fitsNow: true }],
    leaseMs: 60_000,
    token: newToken(),
    now: Date.now(),
    idle: true,
  });
  if (taken.kind !== 'claimed' || taken.claim.taskId !== id) throw new Error(`not claimed: ${taken.kind}`);
  expect(await completeTask(redis, keys, taken.claim, 'succeeded', Date.now() - endedDaysAgo * DAY, '')).toBe(
    true,
  );
  return id;
}

describe('gpufleet admin gc', () => {
  it('--dry-run says what would go; --json removes it and prints the ids', async () => {
    const done = [await oldTask(4), await oldTask(4)];
    const waiting = await oldTask();
    const redis = fleet.redis.server.client();

    const dry = await fleet.cli(['admin', 'gc', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('default: would archive and remove 2 tasks');
    for (const id of done) expect(await redis.exists(fleet.keys.task(id))).toBe(1);

    const bad = await fleet.cli(['admin', 'gc', '--limit', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--limit');

    const run = await fleet.cli(['admin', 'gc', '--queue', 'default', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const answer = parseJson<GcResult>(run);
    expect(answer.dryRun).toBe(false);
    expect(answer.queues).toHaveLength(1);
    expect(answer.queues[0]).toMatchObject({ queue: 'default', due: 2, removed: 2 });
    expect([...(answer.queues[0]?.ids ?? [])].sort()).toEqual([...done].sort());
    for (const id of done) {
      expect(await redis.exists(fleet.keys.task(id))).toBe(0);
      const status = parseJson<{ archived: boolean }>(await fleet.cli(['status', id, '--json']));
      expect(status.archived).toBe(true);
    }
    expect(await redis.hget(fleet.keys.task(waiting), 'status')).toBe('queued');

    const again = await fleet.cli(['admin', 'gc']);
    expect(again.stdout).toContain('default: archived and removed 0 tasks');
  });
});
