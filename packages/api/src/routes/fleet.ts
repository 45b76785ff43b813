/**
 * The fleet: GET /v1/executers (what the live trackers of each queue offer, with parameter
 * schemas), GET /v1/queues (depth, running, dead, oldest wait, per tenant the tasks waiting and
 * running, their GPUs and its fair share: a user key sees its own tenant's, an admin key every
 * tenant's) and
 * GET /v1/trackers (admin keys only: every tracker with its GPUs, the task holding each, the
 * GPU's model, memory and ids as the tracker read them with nvidia-smi and its latest usage sample,
 * and its last heartbeat).
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkName } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { principalOf } from '../auth/auth-hook.js';
import { ApiError } from '../errors.js';
import { executerOffers, queueView, trackerViews } from '../fleet/fleet-views.js';
import { errorResponses, Nullable, Timestamp } from '../schemas/common.js';

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

const GpuDeviceSchema = Type.Object(
  {
    uuid: Type.String({ description: 'GPU-…, as nvidia-smi -L shows it; GPUFLEET_GPUS accepts it' }),
    pciBusId: Nullable(Type.String({ description: 'domain:bus:device.function in hex: 00000000:3B:00.0' })),
    name: Type.String({ description: 'the model: NVIDIA H100 80GB HBM3' }),
    memoryMiB: Nullable(Type.Integer({ description: 'total memory, MiB' })),
    computeCapability: Nullable(
      Type.String({ description: 'CUDA compute capability: 9.0 (null from drivers before 510)' }),
    ),
    migMode: Type.Unsafe<'enabled' | 'disabled' | null>({
      type: ['string', 'null'],
      enum: ['enabled', 'disabled', null],
      description: 'MIG mode; null for a GPU without MIG',
    }),
  },
  {
    description:
      'the GPU as nvidia-smi described it when the tracker started; null when the tracker did not (an older tracker, or nvidia-smi could not list it)',
  },
);

const GpuInventorySchema = Type.Object(
  {
    driverVersion: Nullable(Type.String({ description: 'the NVIDIA driver: 550.54.15' })),
    cudaVersion: Nullable(Type.String({ description: 'the CUDA version the driver supports: 12.4' })),
    error: Nullable(
      Type.String({ description: 'why nvidia-smi could not list the GPUs (not found, failed, timed out)' }),
    ),
  },
  {
    description:
      'how the tracker read its GPUs at start; null when it published nothing (GPUFLEET_GPUS=none, or an older tracker)',
  },
);

const GpuUsageSchema = Type.Object(
  {
    sampledAt: Timestamp,
    utilizationPercent: Nullable(
      Type.Number({ description: 'nvidia-smi utilization.gpu: percent of the sample period a kernel ran' }),
    ),
    memoryUsedMiB: Nullable(Type.Number({ description: 'memory in use, by any process, MiB' })),
    temperatureC: Nullable(Type.Number({ description: 'core temperature, °C' })),
    powerW: Nullable(Type.Number({ description: 'power draw, W' })),
  },
  {
    description:
      'the GPU’s latest usage sample (taken every GPUFLEET_GPU_SAMPLE_MS, published at each heartbeat); null when the tracker has none (sampling off or failing, or an older tracker); a value the GPU does not report is null',
  },
);

const GpuHoldSchema = Type.Object(
  {
    kind: Type.Union(
      [Type.Literal('busy'), Type.Literal('settling'), Type.Literal('drained'), Type.Literal('unhealthy')],
      {
        description:
          'busy: a process the tracker did not start uses it; settling: the processes of the task that last had it have not left it yet; drained: by an operator, or after a settle that timed out; unhealthy: a fault the driver reported',
      },
    ),
    reason: Type.String(),
    processes: Type.Optional(
      Type.Array(
        Type.Object({
          pid: Type.Integer(),
          name: Type.String(),
          memoryMiB: Nullable(Type.Number({ description: 'GPU memory it uses, MiB' })),
        }),
        { description: 'the compute processes on it that the tracker did not start' },
      ),
    ),
  },
  {
    description:
      'why the tracker gives this GPU to no task now though none of its tasks holds it; null: it would',
  },
);

const TrackersSchema = Type.Object({
  trackers: Type.Array(
    Type.Object({
      name: Type.String(),
      queue: Type.String(),
      host: Type.String(),
      live: Type.Boolean({ description: 'heartbeat within three heartbeat periods' }),
      lastHeartbeat: Timestamp,
      startedAt: Timestamp,
      gpus: Type.Array(
        Type.Object({
          id: Type.Integer({ description: 'the nvidia-smi index: CUDA_VISIBLE_DEVICES, in PCI bus order' }),
          taskId: Nullable(Type.String()),
          device: Nullable(GpuDeviceSchema),
          usage: Nullable(GpuUsageSchema),
          hold: Nullable(GpuHoldSchema),
        }),
      ),
      drained: Nullable(
        Type.String({
          description: 'why the tracker takes no new task (drained by an operator); null: it takes tasks',
        }),
      ),
      inventory: Nullable(GpuInventorySchema),
      cpuSlots: Type.Integer(),
      cpuTasks: Type.Array(Type.String(), { description: 'tasks running on CPU slots' }),
      executers: Type.Array(Type.String()),
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
      config: { role: 'admin' },
      schema: {
        tags: ['fleet'],
        summary: 'Admin: every tracker, its GPUs and the task holding each, its last heartbeat',
        querystring: QueueFilter,
        response: { 200: TrackersSchema, ...errorResponses },
      },
    },
    async (request) => {
      const now = ctx.now();
      const queues = await queuesOf(ctx, request.query.queue);
      const views = await Promise.all(queues.map((q) => trackerViews(ctx.redis, ctx.prefix, q, now)));
      return { trackers: views.flat() };
    },
  );
};
