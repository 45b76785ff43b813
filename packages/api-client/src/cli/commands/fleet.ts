/**
 * `gpufleet executers`, `gpufleet queues` (each queue, then per tenant its tasks, GPUs and fair
 * share: weight, GPU quota, usage) and `gpufleet trackers` (each tracker, then each of its GPUs
 * with its model, memory, latest memory used and utilisation, and task; a user key sees another
 * tenant's task as `another tenant's task`, without its id): the fleet.
 */
import type { Command } from 'commander';
import type { TrackerList } from '../../generated/api-types.js';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { formatDuration, formatTime, table } from '../format.js';
import type { CommandRunner } from './command-kit.js';

interface QueueFlag {
  queue?: string;
}

export async function runExecuters(ctx: CliContext, flags: QueueFlag): Promise<number> {
  const list = await ctx.client.executers({ queue: flags.queue, signal: ctx.signal });
  if (ctx.out.json) ctx.out.document(list);
  else if (list.executers.length === 0) ctx.out.note('no live tracker offers an executer');
  else {
    const rows = list.executers.map((e) => {
      const params = Object.keys((e.params.properties as Record<string, unknown> | undefined) ?? {}).join(
        ',',
      );
      return [
        e.name,
        e.version,
        e.queue,
        String(e.gpus),
        formatDuration(e.timeLimitMs),
        String(e.trackers.length),
        params || '-',
        e.description.length > 70 ? `${e.description.slice(0, 69)}…` : e.description,
      ];
    });
    ctx.out.line(
      table(['NAME', 'VERSION', 'QUEUE', 'GPUS', 'TIME', 'TRACKERS', 'PARAMS', 'DESCRIPTION'], rows),
    );
  }
  return EXIT.OK;
}

export async function runQueues(ctx: CliContext, flags: QueueFlag): Promise<number> {
  const list = await ctx.client.queues({ queue: flags.queue, signal: ctx.signal });
  if (ctx.out.json) ctx.out.document(list);
  else {
    const rows = list.queues.map((q) => [
      q.queue,
      String(q.depth),
      String(q.running),
      String(q.dead),
      formatDuration(q.oldestWaitingAgeMs),
      String(q.liveTrackers),
    ]);
    ctx.out.line(table(['QUEUE', 'WAITING', 'RUNNING', 'DEAD', 'OLDEST WAIT', 'TRACKERS'], rows));
    // Per tenant (a user key sees its own tenant, an admin every tenant with tasks).
    const byTenant = list.queues.flatMap((q) =>
      Object.entries(q.tenants).map(([tenant, t]) => [
        q.queue,
        tenant,
        String(t.waiting),
        String(t.runningTasks),
        String(t.runningGpus),
        String(t.weight),
        t.maxRunningGpus === null ? '-' : String(t.maxRunningGpus),
        `${t.usageGpuHours} GPU-h`,
      ]),
    );
    if (byTenant.length > 0) {
      ctx.out.line('');
      ctx.out.line(
        table(['QUEUE', 'TENANT', 'WAITING', 'RUNNING', 'GPUS', 'WEIGHT', 'GPU QUOTA', 'USAGE'], byTenant),
      );
    }
  }
  return EXIT.OK;
}

/** A GPU held back, in the TASK column: `busy: python (pid 4242, 3000 MiB)`, `drained: reason`. */
function holdText(hold: NonNullable<TrackerList['trackers'][number]['gpus'][number]['hold']>): string {
  const [first, ...more] = hold.processes ?? [];
  if (!first) return `${hold.kind}: ${hold.reason}`;
  const memory = first.memoryMiB === null ? '' : `, ${first.memoryMiB} MiB`;
  return `${hold.kind}: ${first.name} (pid ${first.pid}${memory})${more.length > 0 ? ` and ${more.length} more` : ''}`;
}

/** In the TASK column, for a user key, where another tenant's task runs. */
const OTHERS_TASK = 'another tenant’s task';

export async function runTrackers(ctx: CliContext, flags: QueueFlag): Promise<number> {
  const list = await ctx.client.trackers({ queue: flags.queue, signal: ctx.signal });
  if (ctx.out.json) ctx.out.document(list);
  else {
    const rows = list.trackers.map((t) => [
      t.name,
      t.queue,
      t.host,
      t.live ? (t.drained !== null ? 'yes, drained' : 'yes') : 'no',
      t.gpus.length === 0
        ? '-'
        : `${t.gpus.filter((g) => g.taskId !== null || g.othersTask).length}/${t.gpus.length} busy`,
      t.cpuSlots === 0 ? '-' : `${t.cpuSlotTasks.length}/${t.cpuSlots} busy`,
      formatTime(t.lastHeartbeat),
      t.executers.join(','),
    ]);
    ctx.out.line(
      table(['NAME', 'QUEUE', 'HOST', 'LIVE', 'GPUS', 'CPU SLOTS', 'HEARTBEAT', 'EXECUTERS'], rows),
    );
    // Per GPU, as its tracker read it with nvidia-smi (`--json` has the UUID, bus id and driver too,
    // and the latest sample's temperature and power); '-': no usage sample.
    const gpus = list.trackers.flatMap((t) =>
      t.gpus.map(({ id, taskId, othersTask, device, usage, hold }) => [
        t.name,
        String(id),
        device?.name ?? '?',
        typeof device?.memoryMiB === 'number' ? `${device.memoryMiB} MiB` : '?',
        typeof usage?.memoryUsedMiB === 'number' ? `${usage.memoryUsedMiB} MiB` : '-',
        typeof usage?.utilizationPercent === 'number' ? `${usage.utilizationPercent}%` : '-',
        device?.computeCapability ?? '-',
        device?.migMode ?? '-',
        taskId ?? (othersTask ? OTHERS_TASK : hold ? holdText(hold) : '-'),
      ]),
    );
    if (gpus.length > 0) {
      ctx.out.line('');
      ctx.out.line(
        table(['TRACKER', 'GPU', 'MODEL', 'MEMORY', 'MEM USED', 'UTIL', 'COMPUTE', 'MIG', 'TASK'], gpus),
      );
    }
  }
  return EXIT.OK;
}

export function fleetCommands(program: Command, run: CommandRunner): void {
  for (const [name, description, fn] of [
    ['executers', 'what the live trackers offer, with their parameters', runExecuters],
    ['queues', 'each queue: waiting, running, dead, oldest wait', runQueues],
    ['trackers', 'every tracker, its GPUs and heartbeat', runTrackers],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option('-q, --queue <queue>', 'only this queue')
      .action(run((ctx, flags: QueueFlag) => fn(ctx, flags)));
  }
}
