// Preemption when trackers crash, with trackers as separate processes: two trackers, each running
// a preemptible task that ignores SIGTERM (so a preemption stays under way for its whole grace,
// 20 s), and a task of higher priority arrives. One of them preempts (Redis lets one), and is
// killed with SIGKILL before its victim is gone. Its preemption holds nothing once it is dead: the
// other tracker preempts for the same task as soon as the dead one's liveness key lapses (not when
// the dead one's grace would have ended), and the dead one's victim is recovered as after any
// crash, back in the queue. A tracker asked to stop during a preemption's grace stops within its
// own kill grace, handing the task back.
import { describe, expect, it } from 'vitest';
import { getTask, type QueueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { useFaultFleets } from './helpers/fault-fleet.js';
import type { TrackerProcess } from './helpers/tracker-process.js';

const redis = useRedis();
const temp = useTempDirs();
const newFleet = useFaultFleets(redis, temp);
const GRACE_MS = 20_000;

async function printedPids(client: ReturnType<typeof redis.server.client>, keys: QueueKeys, id: string) {
  await waitFor(async () =>
    (await client.xrange(keys.log(id), '-', '+')).some(([, fields]) => fields.join(' ').includes('"pids"')),
  );
}

describe('preemption and crashes', () => {
  it('recovers a crashed tracker’s preemption: the other tracker preempts at once, nothing is lost', async () => {
    const fleet = await newFleet();
    const { client, keys } = fleet;
    await fleet.pastRestartGuard(); // the test times a takeover, not Redis's start
    const env = { GPUFLEET_CPU_SLOTS: '1', GPUFLEET_PREEMPT_GRACE_MS: String(GRACE_MS) };
    const trackers = [await fleet.start('crash-a', env), await fleet.start('crash-b', env)];
    const deaf = { executer: 'stubborn', gpus: 0, priority: 100, preemptible: true };
    const victims = [await fleet.submit(deaf), await fleet.submit(deaf)];
    for (const id of victims) await printedPids(client, keys, id);
    const urgent = await fleet.submit({ executer: 'probe', gpus: 0, priority: 900, params: { sleepMs: 50 } });
    const winner = await waitFor(() => trackers.find((t) => t.eventLines('preempting').length > 0));
    const survivor = trackers.find((t) => t !== winner) as TrackerProcess;
    const [first] = winner.eventLines('preempting');
    expect(first).toMatchObject({ taskId: urgent, graceMs: GRACE_MS });
    const lost = first?.victims?.[0] as string;
    const crashedAt = Date.now();
    winner.signal('SIGKILL');

    const second = await survivor.waitForEvent('preempting', () => true, 15_000);
    expect(second).toMatchObject({ taskId: urgent });
    expect(second.victims).toEqual(victims.filter((id) => id !== lost));
    // The liveness key (3 s) decides, not the dead one's grace (20 s) plus the margin.
    expect(Date.now() - crashedAt).toBeLessThan(10_000);
    // The dead tracker's victim is back in the queue, its abandoned attempt counted as a crash's.
    const recovered = await waitFor(async () => {
      const task = await getTask(client, keys, lost);
      return task?.status === 'queued' ? task : null;
    });
    expect(recovered).toMatchObject({ attempt: 1, preemptions: 1, preemptedBy: urgent, tracker: null });
    // (the helper lists each entry's second field: the preemption's entry says `change preempted`)
    expect(await fleet.events(lost)).toEqual(['queued', 'running', 'preempted', 'queued']);

    // Asked to stop in the grace, the survivor stops within its kill grace and hands its task back.
    const stopAt = Date.now();
    survivor.signal('SIGTERM');
    await survivor.exited;
    expect(Date.now() - stopAt).toBeLessThan(GRACE_MS / 2);
    const handedBack = await getTask(client, keys, second.victims?.[0] as string);
    expect(handedBack).toMatchObject({ status: 'queued', preemptions: 1 });
    expect(handedBack?.error).toMatch(/^preempted by task /);
  });
});
