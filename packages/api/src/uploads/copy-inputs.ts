/**
 * A task's inputs copied for the task that submits it again (POST /v1/tasks/:id/resubmit): each
 * object at `<tenant>/<old>/inputs/<name>` streamed to `<tenant>/<new>/inputs/<name>` (store.get
 * → store.put, never held whole in memory), before the new task is enqueued, so it never starts
 * without them. Every input is looked for first: when one is gone (deleted from the store, by a
 * retention or by hand), nothing is copied and the answer is 409 INPUTS_GONE naming each. On any
 * failure the caller removes what was copied (`<tenant>/<new>`).
 */
import { inputsPrefix, NotFoundError, type TaskInput } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError } from '../errors.js';

/** How many inputs are looked for, or copied, at once. */
const PARALLEL = 4;

export interface InputsCopy {
  tenant: string;
  /** The task whose inputs they are. */
  from: string;
  /** The task that gets a copy. */
  to: string;
  inputs: readonly TaskInput[];
}

function inputsGone(from: string, names: readonly string[]): ApiError {
  const list = names.map((name) => `"${name}"`).join(', ');
  return new ApiError(
    'INPUTS_GONE',
    `task ${from} cannot be submitted again: its input${names.length > 1 ? 's' : ''} ${list} ` +
      `${names.length > 1 ? 'are' : 'is'} no longer in the artifact store; submit it with its input files`,
    { details: { taskId: from, inputs: [...names] } },
  );
}

/**
 * Runs `work` for each item, `PARALLEL` at a time. The first failure stops new work and is thrown
 * once the work in progress has settled (so nothing is still being written when the caller cleans up).
 */
async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (failures.length === 0 && next < items.length) {
      const item = items[next++] as T;
      await work(item).catch((error: unknown) => failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

/** Copies the inputs; returns the bytes copied. */
export async function copyInputs(ctx: ApiContext, copy: InputsCopy): Promise<number> {
  const source = inputsPrefix(copy.tenant, copy.from);
  const target = inputsPrefix(copy.tenant, copy.to);
  const missing: string[] = [];
  await eachLimited(copy.inputs, async ({ name }) => {
    if ((await ctx.store.stat(`${source}/${name}`)) === null) missing.push(name);
  });
  if (missing.length > 0) throw inputsGone(copy.from, missing.sort());
  let bytes = 0;
  await eachLimited(copy.inputs, async ({ name }) => {
    const stream = await ctx.store.get(`${source}/${name}`).catch((error: unknown) => {
      // Removed since it was looked for.
      throw error instanceof NotFoundError ? inputsGone(copy.from, [name]) : error;
    });
    try {
      bytes += (await ctx.store.put(`${target}/${name}`, stream)).size;
    } finally {
      stream.destroy();
    }
  });
  return bytes;
}
