/**
 * Removes what a submission stored under a task that was not created after all (its inputs,
 * uploaded or copied: a refused or replayed enqueue). A failure is logged, not thrown: the
 * submission's own answer matters more, and retention removes what is left.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiContext } from '../app-context.js';

export async function removeStoredInputs(
  ctx: ApiContext,
  request: FastifyRequest,
  tenant: string,
  id: string,
): Promise<void> {
  await ctx.store
    .deletePrefix(`${tenant}/${id}`)
    .catch((error: unknown) =>
      request.log.warn(
        { err: error, taskId: id },
        'could not remove the inputs stored for a task not created',
      ),
    );
}
