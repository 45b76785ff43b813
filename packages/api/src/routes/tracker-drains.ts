/**
 * POST /v1/trackers/:name/drain and /undrain (admin keys only): an operator drains a whole tracker
 * (it finishes what it runs and takes nothing new) or one of its GPUs (the task on it finishes, no
 * new task goes to it), and takes a drain back. The drain is stored in the queue's drains hash
 * (core's tracker-drains.ts, so it outlives a restart) and the tracker is told on its control
 * stream in the same MULTI, so a live tracker applies it at once; it also reads the hash at each
 * heartbeat. Both answer the tracker's drains as stored; GET /v1/trackers shows what the tracker
 * applied (`drained`, `gpus[].hold`) from its next heartbeat.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { clearDrain, DEFAULT_DRAIN_REASON, DRAIN_REASON_MAX, ISSUE_REASONS, setDrain } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { principalOf } from '../auth/auth-hook.js';
import { checkGpu, drainState, findTracker } from '../fleet/drain-state.js';
import { errorResponses, Nullable, Timestamp } from '../schemas/common.js';

const TrackerParams = Type.Object({
  name: Type.String({ description: 'the tracker’s name, as GET /v1/trackers shows it' }),
});

const TrackerQuery = Type.Object(
  {
    queue: Type.Optional(
      Type.String({
        description: 'the tracker’s queue (needed only when trackers of that name serve several)',
      }),
    ),
  },
  { additionalProperties: false },
);

const Gpu = Type.Integer({
  minimum: 0,
  description:
    'one GPU of the tracker, by its id in GET /v1/trackers (the nvidia-smi index); absent: the whole tracker',
});

const NO_CONTROL_REASON = 'must not contain control characters (newline, tab, escape...)';

const DrainBody = Type.Object(
  {
    gpu: Type.Optional(Gpu),
    reason: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: DRAIN_REASON_MAX,
        pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]+$',
        description: `why, for whoever reads the trackers (1-${DRAIN_REASON_MAX} characters, no control characters); default "${DEFAULT_DRAIN_REASON}"`,
        [ISSUE_REASONS]: { StringPattern: NO_CONTROL_REASON },
      }),
    ),
  },
  { additionalProperties: false },
);

const UndrainBody = Type.Object({ gpu: Type.Optional(Gpu) }, { additionalProperties: false });

const Drain = Type.Object(
  {
    reason: Type.String(),
    at: Timestamp,
    by: Type.String({ description: 'the name of the API key that drained it' }),
  },
  { description: 'a drain: why, when and by whom; null: not drained' },
);

const DrainStateSchema = Type.Object({
  name: Type.String(),
  queue: Type.String(),
  live: Type.Boolean({
    description: 'the tracker runs (it applied the change at once); else at its next start',
  }),
  drained: Nullable(Drain),
  gpus: Type.Array(Type.Object({ id: Type.Integer(), drained: Nullable(Drain) }), {
    description: 'each GPU of the tracker, with its own drain (a drained tracker drains them all)',
  }),
});

export const trackerDrainRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.post(
    '/trackers/:name/drain',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['fleet'],
        summary: 'Admin: drain a tracker or one of its GPUs (it finishes what it runs, takes nothing new)',
        description:
          'Stored in Redis (a drain outlives the tracker’s restart) and applied by a live tracker at once. A drained tracker still counts as one that can run a task at submission (NO_CAPACITY): a drain is temporary.',
        params: TrackerParams,
        querystring: TrackerQuery,
        body: DrainBody,
        response: { 200: DrainStateSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { gpu, reason = DEFAULT_DRAIN_REASON } = request.body;
      const tracker = await findTracker(ctx, name, request.query.queue);
      checkGpu(name, tracker, gpu);
      const by = principalOf(request).keyName;
      await setDrain(ctx.redis, tracker.keys, name, gpu ?? null, { reason, at: ctx.now(), by });
      request.log.info({ tracker: name, queue: tracker.queue, gpu: gpu ?? null, reason }, 'drained');
      return drainState(ctx, name, tracker);
    },
  );

  app.post(
    '/trackers/:name/undrain',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['fleet'],
        summary: 'Admin: take back the drain of a tracker or of one of its GPUs',
        description:
          'A GPU named here is given back even when the tracker drained it by itself (a settle that timed out). A GPU drained on its own stays drained when its tracker is undrained, and the other way round.',
        params: TrackerParams,
        querystring: TrackerQuery,
        body: UndrainBody,
        response: { 200: DrainStateSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { gpu } = request.body;
      const tracker = await findTracker(ctx, name, request.query.queue, true);
      checkGpu(name, tracker, gpu);
      await clearDrain(ctx.redis, tracker.keys, name, gpu ?? null);
      request.log.info({ tracker: name, queue: tracker.queue, gpu: gpu ?? null }, 'undrained');
      return drainState(ctx, name, tracker);
    },
  );
};
