/**
 * The first step of every task route: the task of this id and this tenant, or a 404 that looks
 * the same whether the task is missing or another tenant's.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiContext } from '../app-context.js';
import { principalOf } from '../auth/auth-hook.js';
import { taskNotFound } from '../errors.js';
import type { FoundTask } from './task-finder.js';
import { toTaskView, waitsInStream, type TaskView } from './task-view.js';

export async function loadTask(ctx: ApiContext, request: FastifyRequest, id: string): Promise<FoundTask> {
  const found = await ctx.finder.find(id, principalOf(request).tenant);
  if (!found) throw taskNotFound();
  request.taskId = found.record.id;
  return found;
}

/** The task's view, with its queue position while it waits in its stream. */
export async function viewOf(ctx: ApiContext, found: FoundTask): Promise<TaskView> {
  const { entry, stream } = found.raw;
  const position =
    entry && stream && waitsInStream(found, ctx.now())
      ? await ctx.positions.positionOf(found.keys, entry, stream)
      : null;
  return toTaskView(found, position);
}
