/**
 * The task protocol as it was before the wait sets (commit 20ace34: strict oldest-first, the take
 * reading the head of each stream), kept as the peer of bench/compare-take-cost.ts: its scripts
 * are frozen copies in bench/lib/baseline-lua/ (take, enqueue, complete and the two libraries they
 * include; the tables they generate come from today's TypeScript, which has not changed them), run
 * with the KEYS and ARGV they took then. Only what the benchmark calls: enqueue, take, complete.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { argvHead, fieldArgs, generatedLua, keyTemplate, stringsReply, type QueueKeys } from '@gpufleet/core';

const DIR = new URL('./baseline-lua/', import.meta.url);

function expand(name: string): string {
  return readFileSync(new URL(`${name}.lua`, DIR), 'utf8')
    .replace(/^-- @include ([a-z-]+)$/gm, (_line, lib: string) => expand(lib))
    .replace(/^-- @generated ([a-z-]+)$/gm, (_line, gen: string) => generatedLua(gen));
}

const scripts = new Map<string, { source: string; sha: string }>();

async function run(
  redis: Redis,
  name: string,
  keys: string[],
  args: Array<string | number>,
): Promise<unknown> {
  let script = scripts.get(name);
  if (!script) {
    const source = expand(name);
    script = { source, sha: createHash('sha1').update(source).digest('hex') };
    scripts.set(name, script);
  }
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('NOSCRIPT'))
      return redis.eval(script.source, keys.length, ...keys, ...args);
    throw error;
  }
}

const accounts = (keys: QueueKeys): string[] => [keys.tenantWaiting, keys.tenantRunning, keys.tenantGpus];

/** Enqueues a task as the old enqueue.lua did (the caller has validated it). */
export async function baselineEnqueue(
  redis: Redis,
  keys: QueueKeys,
  task: { id: string; tenant: string; gpus: number; now: number; fields: Record<string, string | number> },
): Promise<void> {
  await run(
    redis,
    'enqueue',
    [
      keys.task(task.id),
      keys.tasks(task.gpus),
      keys.events,
      keys.idempotency(task.tenant, '_'),
      keys.index,
      keys.taskStreams,
      keys.lastEntry,
      ...accounts(keys),
    ],
    [...argvHead(task.now), task.id, '', 86_400_000, task.gpus, task.tenant, '', ...fieldArgs(task.fields)],
  );
}

/** Takes the oldest task of `gpus` sizes as the old take.lua did; the claim's task id, entry and stream. */
export async function baselineTake(
  redis: Redis,
  keys: QueueKeys,
  req: { consumer: string; sizes: number[]; token: string; now: number },
): Promise<{ taskId: string; stream: string; entryId: string } | null> {
  const streams = [...req.sizes.map((g) => keys.requeued(g)), ...req.sizes.map((g) => keys.tasks(g))];
  const reply = stringsReply(
    await run(
      redis,
      'take',
      [keys.events, keys.dead, ...accounts(keys), ...streams],
      [
        ...argvHead(req.now),
        req.consumer,
        keyTemplate(keys.task),
        keyTemplate(keys.lease),
        60_000,
        req.token,
        1,
        req.sizes.length,
        ...streams.map(() => 1),
      ],
    ),
  );
  if (reply[0] !== 'claimed') return null;
  return { taskId: reply[1] ?? '', stream: reply[2] ?? '', entryId: reply[3] ?? '' };
}

/** Completes a claimed task as the old complete.lua did. */
export async function baselineComplete(
  redis: Redis,
  keys: QueueKeys,
  claim: { taskId: string; stream: string; token: string; now: number },
): Promise<void> {
  await run(
    redis,
    'complete',
    [
      keys.task(claim.taskId),
      keys.lease(claim.taskId),
      keys.events,
      keys.dead,
      claim.stream,
      ...accounts(keys),
    ],
    [...argvHead(claim.now), claim.token, 'succeeded', '', 'exitCode', 0],
  );
}
