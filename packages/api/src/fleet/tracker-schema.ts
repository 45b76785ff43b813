/**
 * The schema of GET /v1/trackers: every tracker with its GPUs (each GPU's task and tenant, its
 * model and ids as nvidia-smi read them, its latest usage sample and why it is held back) and the
 * tasks on its CPU slots. What a user key sees of other tenants' tasks is in tracker-views.ts.
 */
import { Type } from '@fastify/type-provider-typebox';
import { Nullable, Timestamp } from '../schemas/common.js';

const OthersTask = Type.Boolean({
  description:
    'a user key: another tenant’s task runs here (its id and tenant are not shown); always false for an admin key',
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
      'why the tracker gives this GPU to no task now though none of its tasks holds it; null: it would. A user key gets no `processes`, and a `busy` or `settling` reason (and a `drained` one that names processes) in general words',
  },
);

export const TrackersSchema = Type.Object({
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
          taskId: Nullable(
            Type.String({ description: 'the task on it; null when free, or (user keys) another tenant’s' }),
          ),
          tenant: Nullable(
            Type.String({ description: 'the tenant of the task on it; null when free, or another tenant’s' }),
          ),
          othersTask: OthersTask,
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
      cpuTasks: Type.Array(Type.String(), {
        description:
          'ids of the tasks running on CPU slots (a user key: its own tenant’s only; cpuSlotTasks has every one)',
      }),
      cpuSlotTasks: Type.Array(
        Type.Object({
          taskId: Nullable(Type.String({ description: 'null: another tenant’s task (user keys)' })),
          tenant: Nullable(Type.String({ description: 'null: another tenant’s task (user keys)' })),
          othersTask: OthersTask,
        }),
        { description: 'one item per task running on a CPU slot, as a GPU shows its task' },
      ),
      executers: Type.Array(Type.String()),
    }),
  ),
});
