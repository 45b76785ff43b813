/**
 * Which of the tracker's free GPUs someone else uses, and when a task's GPUs are truly free again.
 * Every GPUFLEET_GPU_CHECK_MS (and at once after a task gives GPUs back) it asks nvidia-smi for
 * the compute processes (`--query-compute-apps=pid,process_name,used_memory,gpu_uuid`) and each
 * GPU's memory in use (`--query-gpu=index,uuid,memory.used`), and for each GPU none of its tasks
 * holds:
 * - a GPU a task has just given back is held `settling` until no compute process is left on it
 *   (a CUDA context outlives its process by a moment, and a child the task left behind may still
 *   hold it); past GPUFLEET_GPU_SETTLE_MS it is drained instead, naming what stayed;
 * - otherwise, a GPU with a compute process, or with more memory in use than
 *   GPUFLEET_GPU_BUSY_MEMORY_MIB (a process in another PID namespace is not listed, its memory
 *   is), is held `busy`, naming the processes and their memory; given out again once they left.
 * A GPU one of its tasks holds is not judged: which of the processes on it are the task's cannot
 * be told from nvidia-smi inside a container. The holds go into the slot pool (slot-pool.ts), which
 * the consumer loop and the registry entry read. A failed round (nvidia-smi missing, failing or
 * hung) is logged once with its cause; it gives settling GPUs back (their task's processes have
 * ended: the check only confirms it) and leaves the busy ones as they were.
 */
import type { GpuInventory, Logger } from '@gpufleet/core';
import type { TrackerConfig } from '../config.js';
import type { Tracker } from '../tracker.js';
import type { GpuHold, SlotPool } from '../slot-pool.js';
import { parseQueryRows } from './nvidia-smi-csv.js';
import { FailureReport, runNvidiaSmiQuery } from './nvidia-smi-run.js';
import { failureOf, NVIDIA_SMI_TIMEOUT_MS } from './read-gpu-inventory.js';

const APP_FIELDS = ['pid', 'process_name', 'used_memory', 'gpu_uuid'] as const;
const MEMORY_FIELDS = ['index', 'uuid', 'memory.used'] as const;

export interface GpuOccupancyOptions {
  pool: SlotPool;
  /** The tracker's GPUs, by index, with the UUID the inventory read for each. */
  gpus: ReadonlyArray<{ index: number; uuid: string }>;
  /** GPUFLEET_GPU_CHECK_MS: from the end of one round to the start of the next. */
  checkMs: number;
  /** GPUFLEET_GPU_BUSY_MEMORY_MIB: more memory in use than this on a free GPU makes it busy. */
  busyMemoryMiB: number;
  /** GPUFLEET_GPU_SETTLE_MS: how long a task's GPUs may wait for its processes to leave (0: not checked). */
  settleMs: number;
  logger: Logger;
  /** The nvidia-smi to run; default `nvidia-smi` on PATH. */
  command?: string;
  now?: () => number;
}

type Process = NonNullable<GpuHold['processes']>[number];

export class GpuOccupancy {
  readonly #settling = new Map<number, { taskId: string; since: number }>();
  readonly #cancel = new AbortController();
  readonly #command: string;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<void> | null = null;
  /** A round was asked for while one ran: run another right after it. */
  #again = false;
  readonly #failure: FailureReport;
  #closed = false;

  constructor(private readonly options: GpuOccupancyOptions) {
    this.#command = options.command ?? 'nvidia-smi';
    this.#now = options.now ?? Date.now;
    this.#failure = new FailureReport(
      options.logger,
      'GPU occupancy check failed; foreign processes are not seen until it works again',
      'GPU occupancy checks resumed',
    );
  }

  /** A round now, then one every GPUFLEET_GPU_CHECK_MS. */
  start(): void {
    this.#soon();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#cancel.abort();
    await this.#round;
  }

  /** Task `taskId` gave `gpuIds` back: held `settling` until its processes have left them. */
  settle(gpuIds: readonly number[], taskId: string): void {
    // A shared GPU with shares left is still in use: it settles when its last share has ended.
    const idle = gpuIds.filter((id) => this.options.pool.idleGpuIds.includes(id));
    if (this.options.settleMs === 0 || idle.length === 0 || this.#closed) return;
    const since = this.#now();
    for (const id of idle) {
      this.#settling.set(id, { taskId, since });
      this.options.pool.hold(id, {
        kind: 'settling',
        reason: `the processes of task ${taskId} have not left it yet`,
      });
    }
    this.#soon();
  }

  /** Runs a round as soon as the one under way (if any) has ended. */
  #soon(): void {
    if (this.#closed) return;
    if (this.#round) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#round = this.check()
      .catch((error: unknown) => this.#failed(error instanceof Error ? error.message : String(error)))
      .finally(() => {
        this.#round = null;
        if (this.#closed) return;
        if (this.#again) {
          this.#again = false;
          this.#soon();
        } else if (this.options.checkMs > 0 || this.#settling.size > 0) {
          // While a GPU settles, look again soon: its task's next one waits for it.
          const delay =
            this.#settling.size > 0 ? Math.min(200, this.options.checkMs || 200) : this.options.checkMs;
          this.#timer = setTimeout(() => this.#soon(), delay);
          this.#timer.unref();
        }
      });
  }

  /** One round: asks nvidia-smi and holds or gives back the free GPUs. */
  async check(): Promise<void> {
    const run = (query: '--query-gpu' | '--query-compute-apps', fields: readonly string[]) =>
      runNvidiaSmiQuery(this.#command, query, fields, this.#cancel.signal);
    const [apps, memory] = await Promise.all([
      run('--query-compute-apps', APP_FIELDS),
      run('--query-gpu', MEMORY_FIELDS),
    ]);
    if (apps.isCanceled || memory.isCanceled) return;
    const failed = apps.failed ? apps : memory.failed ? memory : null;
    if (failed) return this.#failed(failureOf(this.#command, failed, NVIDIA_SMI_TIMEOUT_MS));
    this.#failure.worked();
    const processes = new Map<string, Process[]>();
    for (const row of parseQueryRows(String(apps.stdout), APP_FIELDS)) {
      const uuid = (row['gpu_uuid'] ?? '').toLowerCase();
      const used = Number(row['used_memory']);
      const process = {
        pid: Number(row['pid']),
        name: row['process_name'] ?? '?',
        memoryMiB: Number.isFinite(used) ? used : null,
      };
      processes.set(uuid, [...(processes.get(uuid) ?? []), process]);
    }
    const memoryOf = new Map<string, number>();
    for (const row of parseQueryRows(String(memory.stdout), MEMORY_FIELDS)) {
      const used = Number(row['memory.used']);
      if (Number.isFinite(used)) memoryOf.set((row['uuid'] ?? '').toLowerCase(), used);
    }
    const idle = new Set(this.options.pool.idleGpuIds);
    for (const { index, uuid } of this.options.gpus) {
      if (idle.has(index))
        this.#judge(index, processes.get(uuid.toLowerCase()) ?? [], memoryOf.get(uuid.toLowerCase()));
    }
  }

  /** Holds or gives back GPU `index`, which none of the tracker's tasks holds. */
  #judge(index: number, on: Process[], usedMiB: number | undefined): void {
    const { pool, settleMs, busyMemoryMiB, logger } = this.options;
    const settling = this.#settling.get(index);
    const named = on
      .map((p) => `${p.name} (pid ${p.pid}${p.memoryMiB === null ? '' : `, ${p.memoryMiB} MiB`})`)
      .join(', ');
    if (settling) {
      if (on.length === 0) {
        this.#settling.delete(index);
        pool.unhold(index, 'settling');
      } else if (this.#now() - settling.since >= settleMs) {
        this.#settling.delete(index);
        const reason = `the processes of task ${settling.taskId} did not leave it within ${settleMs} ms: ${named}`;
        logger.warn(
          { gpu: index, taskId: settling.taskId, processes: on },
          'GPU drained: a task’s processes stayed on it',
        );
        pool.hold(index, { kind: 'drained', reason, processes: on });
      }
      return;
    }
    const held = pool.heldGpus.get(index);
    if (held && held.kind !== 'busy') return; // drained or unhealthy: not this check's to give back
    const overMemory = usedMiB !== undefined && usedMiB > busyMemoryMiB;
    if (on.length === 0 && !overMemory) {
      if (held) logger.info({ gpu: index }, 'GPU free again: the processes that used it have left');
      pool.unhold(index, 'busy');
      return;
    }
    const reason =
      on.length > 0
        ? `used by a process this tracker did not start: ${named}`
        : `${usedMiB} MiB in use by processes nvidia-smi does not list (more than GPUFLEET_GPU_BUSY_MEMORY_MIB, ${busyMemoryMiB})`;
    if (held?.reason !== reason)
      logger.warn({ gpu: index, processes: on, usedMiB }, `GPU skipped: ${reason}`);
    pool.hold(index, { kind: 'busy', reason, ...(on.length > 0 && { processes: on }) });
  }

  #failed(cause: string): void {
    // Their task's processes have ended (the process group is gone): the check only confirms it.
    for (const id of this.#settling.keys()) this.options.pool.unhold(id, 'settling');
    this.#settling.clear();
    this.#failure.failed(cause);
  }
}

/**
 * The occupancy check of a tracker's GPUs, made once its slot pool is (none without GPUs, when the
 * inventory could not be read, or with both GPUFLEET_GPU_CHECK_MS and GPUFLEET_GPU_SETTLE_MS 0).
 */
export function occupancyCheck(
  config: Pick<TrackerConfig, 'gpuCheckMs' | 'gpuBusyMemoryMiB' | 'gpuSettleMs'>,
  logger: Logger,
  command: string | undefined,
  gpuIds: readonly number[],
  inventory: GpuInventory | undefined,
): GpuOccupancyFactory | undefined {
  if (gpuIds.length === 0 || !inventory || inventory.error !== null) return;
  if (config.gpuCheckMs === 0 && config.gpuSettleMs === 0) return;
  const gpus = gpuIds.flatMap((index) => {
    const uuid = inventory.gpus.find((g) => g.index === index)?.uuid;
    return uuid ? [{ index, uuid }] : [];
  });
  const { gpuCheckMs: checkMs, gpuBusyMemoryMiB: busyMemoryMiB, gpuSettleMs: settleMs } = config;
  return ({ pool, tracker }) => {
    const occupancy = new GpuOccupancy({ pool, gpus, checkMs, busyMemoryMiB, settleMs, logger, command });
    tracker.once('started', () => occupancy.start());
    tracker.once('stopped', () => void occupancy.close());
    return occupancy;
  };
}

/** Makes a tracker's occupancy check once its slot pool is; it starts and closes with the tracker's events. */
export type GpuOccupancyFactory = (parts: { pool: SlotPool; tracker: Pick<Tracker, 'once'> }) => GpuOccupancy;
