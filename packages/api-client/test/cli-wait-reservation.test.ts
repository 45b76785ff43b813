// `gpufleet status` for a task that GPUs are reserved for, against a real API started from its
// configuration. No tracker runs, so the tasks (submitted --wait-for-capacity) stay waiting; the queue's reservation and
// preemptions hashes are written the way core's take.lua and preempt.lua write them. Checked: the
// waits line names Reservation and Preemption like the other reasons and adds `expected to start
// by <local time>` (the CLI runs in a time zone of its own, so local time is told from UTC) only
// when the reservation's time is known; `--json` and the typed client carry `expectedStartAt`,
// which is null once the task left the queue though the reservation still names it.
import { describe, expect, it } from 'vitest';
import { queueKeys } from '@gpufleet/core';
import { GpufleetClient } from '@gpufleet/api-client';
import { parseJson } from './helpers/cli-fleet.js';
import { useWaitingApi } from './helpers/waiting-api.js';

const fleet = useWaitingApi('reserve', ['default', 'typed']);
const { redis, prefix, token, keys } = fleet;
// Tokyo keeps UTC+9 all year: the expected local time below needs no time zone database.
const cli = (args: string[]) => fleet.cli(args, { TZ: 'Asia/Tokyo' });

async function submitted(): Promise<string> {
  const result = await cli(['submit', 'probe', '--wait-for-capacity', '--json']);
  expect(result.code, result.stderr).toBe(0);
  return parseJson<{ tasks: Array<{ id: string }> }>(result).tasks[0]?.id ?? '';
}

async function waits(id: string): Promise<string> {
  const result = await cli(['status', id]);
  expect(result.code, result.stderr).toBe(0);
  return /^waits: +(.*)$/m.exec(result.stdout)?.[1] ?? '(no waits line)';
}

/** As take.lua's `reserve` writes it. */
async function reserve(task: string, at: string): Promise<void> {
  await redis.server.client().hset(keys.reservation, { task, tracker: 'gpu-a', at, gpus: '0' });
}

// 2030-01-02 03:04:05 UTC, 12:04:05 in Tokyo.
const AT = Date.UTC(2030, 0, 2, 3, 4, 5);
const AT_TOKYO = '2030-01-02 12:04:05';

describe('gpufleet status with a reservation', () => {
  it('says Reservation or Preemption, and by when the task is expected to start', async () => {
    const first = await submitted();
    const second = await submitted();
    expect(await waits(first)).toBe('Resources, position 0');

    await reserve(first, String(AT));
    expect(await waits(first)).toBe(`Reservation, position 0, expected to start by ${AT_TOKYO}`);
    expect(await waits(second)).toBe('Priority, position 1');
    expect(parseJson(await cli(['status', first, '--json']))).toMatchObject({
      waitReason: 'Reservation',
      queuePosition: 0,
      expectedStartAt: AT,
    });
    expect(parseJson(await cli(['status', second, '--json']))).toMatchObject({ expectedStartAt: null });

    await redis.server.client().hset(keys.preemptions, first, `gpu-a,${Date.now() + 600_000}`);
    expect(await waits(first)).toBe(`Preemption, position 0, expected to start by ${AT_TOKYO}`);

    // The holder cannot tell when its GPUs free: no time is shown.
    await redis.server.client().hdel(keys.preemptions, first);
    await reserve(first, '9000000000000000');
    expect(await waits(first)).toBe('Reservation, position 0');
    expect(parseJson(await cli(['status', first, '--json']))).toMatchObject({ expectedStartAt: null });
  });

  it('the typed client carries expectedStartAt, null once the task is cancelled', async () => {
    const client = new GpufleetClient({ url: fleet.api.url, token });
    const task = await client.submit({ executer: 'probe', queue: 'typed', waitForCapacity: true });
    await redis.server.client().hset(queueKeys(prefix, 'typed').reservation, {
      task: task.id,
      tracker: 'gpu-a',
      at: String(AT),
      gpus: '0',
    });
    const view = await task.get();
    const start: number | null = view.expectedStartAt;
    expect([view.waitReason, start]).toEqual(['Reservation', AT]);
    await task.cancel();
    expect((await client.getTask(task.id)).expectedStartAt).toBeNull();
  });
});
