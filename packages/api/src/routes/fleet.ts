/**
 * The fleet: GET /v1/executers (what the live trackers of each queue offer, with parameter
 * schemas), GET /v1/queues (depth, running, dead, oldest wait, per tenant the tasks waiting and
 * running, their GPUs and its fair share: a user key sees its own tenant's, an admin key every
 * tenant's) and
 * GET /v1/trackers (every tracker with its GPUs, the task holding each and its tenant, the GPU's
 * model, memory and ids as the tracker read them with nvidia-smi and its latest usage sample, and
 * its last heartbeat; any key, a user key seeing of other tenants' tasks only where they run:
 * tracker-views.ts).
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkName, ServiceSchema, type ServiceSpec } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { principalOf } from '../auth/auth-hook.js';
import { ApiError } from '../errors.js';
import { executerOffers, queueView } from '../fleet/fleet-views.js';
import { TrackersSchema } from '../fleet/tracker-schema.js';
import { trackerViews } from '../fleet/tracker-views.js';
import { errorResponses, Nullable } from '../schemas/common.js';

const QueueFilter = Type.Object(
  { queue: Type.Optional(Type.String({ description: 'only this queue' })) },
  { additionalProperties: false },
);

const ExecutersSchema = Type.Object({
  executers: Type.Array(
    Type.Object({
      queue: Type.String(),
      name: Type.String(),
      version: Type.String(),
      description: Type.String(),
      params: Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of the parameters' }),
      gpus: Type.Integer({ description: 'default GPU count' }),
      timeLimitMs: Type.Integer({ description: 'default time limit' }),
      trackers: Type.Array(Type.String(), { description: 'live trackers offering it' }),
      service: Nullable(
        Type.Unsafe<ServiceSpec>({
          ...ServiceSchema,
          description:
            'a service (a long-running server): its ports, readiness check and lifetime, as its manifest declares them; null for a batch executer',
        }),
      ),
    }),
  ),
});

const QueuesSchema = Type.Object({
  queues: Type.Array(
    Type.Object({
      queue: Type.String(),
      depth: Type.Integer({ description: 'tasks waiting for a tracker' }),
      running: Type.Integer({ description: 'tasks taken and not yet ended' }),
      dead: Type.Integer({ description: 'entries in the dead-letter stream' }),
      oldestWaitingAgeMs: Nullable(
        Type.Integer({ description: 'how long the oldest waiting task has waited' }),
      ),
      liveTrackers: Type.Integer(),
      waitingByGpus: Type.Record(Type.String(), Type.Integer(), {
        description: 'the tasks waiting, by GPU count ("0": CPU tasks); a count none waits for is left out',
      }),
      tenants: Type.Record(
        Type.String(),
        Type.Object({
          waiting: Type.Integer(),
          runningTasks: Type.Integer(),
          runningGpus: Type.Integer(),
          weight: Type.Number({ description: 'fair-share weight' }),
          maxRunningGpus: Nullable(
            Type.Integer({ description: 'the most GPUs its running tasks may hold; null: no limit' }),
          ),
          usageGpuHours: Type.Number({
            description: 'GPU-hours its tasks held, each halved per fair-share half-life that passed since',
          }),
          fairShareRank: Type.Integer({
            description:
              '1 = its tasks go first among waiting tasks of equal priority (lowest usage per weight)',
          }),
        }),
        {
          description:
            'tenant → its tasks waiting and running, their GPUs and its fair share (a user key: its own tenant only)',
        },
      ),
    }),
  ),
});

/**
 * The queues `queue` names: every queue the fleet has, or the one given (a bad name is a 400
 * naming `query.queue`, before anything is read).
 */
export async function queuesOf(ctx: ApiContext, queue: string | undefined): Promise<string[]> {
  if (queue === undefined) return ctx.queues.discovered();
  const issue = checkName(queue);
  if (issue) {
    throw new ApiError('VALIDATION_FAILED', `invalid request: query.queue: ${issue}`, {
      details: { issues: [{ field: 'query.queue', reason: issue }] },
    });
  }
  return [queue];
}

export const fleetRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get(
    '/executers',
    {
      schema: {
        tags: ['fleet'],
        summary: 'What the live trackers of each queue offer, with parameter schemas',
        querystring: QueueFilter,
        response: { 200: ExecutersSchema, ...errorResponses },
      },
    },
    async (request) => {
      const now = ctx.now();
      const queues = await queuesOf(ctx, request.query.queue);
      const offers = await Promise.all(queues.map((q) => executerOffers(ctx.redis, ctx.prefix, q, now)));
      return { executers: offers.flat() };
    },
  );

  app.get(
    '/queues',
    {
      schema: {
        tags: ['fleet'],
        summary: 'Each queue: depth, running, dead, oldest waiting age, per-tenant waiting and running',
        querystring: QueueFilter,
        response: { 200: QueuesSchema, ...errorResponses },
      },
    },
    async (request) => {
      const now = ctx.now();
      const queues = await queuesOf(ctx, request.query.queue);
      const { role, tenant } = principalOf(request);
      const only = role === 'admin' ? null : tenant;
      return { queues: await Promise.all(queues.map((q) => queueView(ctx.redis, ctx.prefix, q, now, only))) };
    },
  );

  app.get(
    '/trackers',
    {
      schema: {
        tags: ['fleet'],
        summary: 'Every tracker, its GPUs and the task holding each, its last heartbeat',
        description:
          'A user key sees its own tenant’s tasks; where another tenant’s task runs, `othersTask` is ' +
          'true and its id and tenant are null, and holds name no process.',
        querystring: QueueFilter,
        response: { 200: TrackersSchema, ...errorResponses },
      },
    },
    async (request) => {
      const now = ctx.now();
      const queues = await queuesOf(ctx, request.query.queue);
      return { trackers: await trackerViews(ctx.redis, ctx.prefix, queues, now, principalOf(request)) };
    },
  );
};
