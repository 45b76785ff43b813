/**
 * The health of the tracker's GPUs. Every GPUFLEET_GPU_HEALTH_MS it reads what the kernel log
 * (GPUFLEET_XID_LOG, followed like `tail -F`: log-tail.ts) gained since the last look and asks
 * nvidia-smi (gpu-health-query.ts), and judges each GPU of the tracker unhealthy when:
 * - the log reports an Xid that means the GPU is broken (xid-errors.ts says which and why; any
 *   other Xid, the application's fault, is logged only);
 * - nvidia-smi no longer lists it, or says it cannot reach it (it fell off the bus);
 * - its uncorrectable ECC count (`ecc.errors.uncorrected.volatile.total`) is higher than at the
 *   first answer after the tracker started (`[N/A]`: no ECC, no errors).
 * An unhealthy GPU is held in the slot pool (`kind: 'unhealthy'`, the reason naming the Xid, the
 * ECC count or the bus) and given to no task until the tracker restarts (after the operator reset
 * the GPU or rebooted); another check's hold put over it (settling, drained) is replaced by it again
 * at once. Each task whose process runs on it is stopped (SIGTERM, SIGKILL after the kill grace)
 * and handed back first in line, its attempt not counted, with errorCode GPU_ERROR and the fault as
 * its error (run/attempt-settle.ts); it runs again on a healthy GPU. A GPU attempt whose process
 * ended by itself without succeeding asks for a look first (`checkNow`): a CUDA error ends a program
 * before the periodic look sees its GPU's fault. Each GPU is reported once, with the
 * `gpu-unhealthy` event.
 *
 * One look at a time, the next an interval after the last ended; a call has the inventory's 10 s
 * timeout and the one under way is killed at close. A failed nvidia-smi call (not found, an exit
 * code without any GPU in its answer, a timeout) is logged once with its cause and judges nothing,
 * so a broken driver does not drain every GPU; an unreadable log likewise.
 */
import type { EventEmitter } from 'node:events';
import type { GpuInventory, Logger } from '@gpufleet/core';
import type { TrackerConfig } from '../config.js';
import type { RunningAttempts } from '../running-attempts.js';
import type { SlotPool } from '../slot-pool.js';
import { eventField, type EmitTrackerEvent, type TrackerEmitterEvents } from '../tracker-events.js';
import { faultOf, HEALTH_FIELDS, parseHealthAnswer } from './gpu-health-query.js';
import { LogTail } from './log-tail.js';
import { parsePciBusId, samePciDevice, type PciAddress } from './pci-bus-id.js';
import { FailureReport, runNvidiaSmiQuery } from './nvidia-smi-run.js';
import { failureOf, NVIDIA_SMI_TIMEOUT_MS } from './read-gpu-inventory.js';
import { brokenGpuReason, parseXidLine } from './xid-errors.js';

/** A GPU of the tracker, as the inventory read it at start. */
export interface WatchedGpu {
  index: number;
  uuid: string;
  pciBusId: string | null;
}

export interface GpuHealthOptions {
  pool: SlotPool;
  /** The running attempts: those on a GPU found unhealthy are stopped. */
  attempts: Pick<RunningAttempts, 'running'>;
  emit: EmitTrackerEvent;
  gpus: readonly WatchedGpu[];
  /** GPUFLEET_GPU_HEALTH_MS: from the end of one look to the start of the next. */
  checkMs: number;
  /** GPUFLEET_XID_LOG: the kernel log to follow; null: Xids are not read. */
  xidLog: string | null;
  logger: Logger;
  /** The nvidia-smi to run; default `nvidia-smi` on PATH. */
  command?: string;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class GpuHealth {
  /** The GPUs found unhealthy, with why. */
  readonly #unhealthy = new Map<number, string>();
  /** Each GPU's uncorrectable ECC count at the first answer. */
  readonly #eccAtStart = new Map<number, number>();
  readonly #gpus: ReadonlyArray<WatchedGpu & { pci: PciAddress | null }>;
  readonly #cancel = new AbortController();
  readonly #tail: LogTail | null;
  readonly #command: string;
  #tailStarted = false;
  /** The last look asked for, chained after the one before (one at a time). */
  #chain: Promise<void> = Promise.resolve();
  /** A look asked for and not begun yet: whoever asks meanwhile shares it. */
  #queued: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** nvidia-smi's failures, reported once each; why the log could not be read (logged once); null: it works. */
  readonly #smi: FailureReport;
  #logFailing: string | null = null;
  #started = false;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(private readonly options: GpuHealthOptions) {
    this.#gpus = options.gpus.map((gpu) => ({ ...gpu, pci: parsePciBusId(gpu.pciBusId) }));
    this.#tail = options.xidLog === null ? null : new LogTail(options.xidLog);
    this.#command = options.command ?? 'nvidia-smi';
    this.#smi = new FailureReport(
      options.logger,
      'GPU health check failed; GPUs that fall off the bus or count ECC errors are not seen until it works again',
      'GPU health checks resumed',
    );
    options.pool.onChange(() => this.#holdAgain());
  }

  /** A look now, then one every GPUFLEET_GPU_HEALTH_MS until closed. Safe to call twice. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    void this.checkNow();
  }

  /** Stops looking and kills the nvidia-smi call under way. Safe to call twice: the same promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      if (this.#timer) clearTimeout(this.#timer);
      this.#cancel.abort();
      await this.#chain;
      await this.#tail?.close();
    })();
    return this.#closing;
  }

  /** Looks now, after the look under way if any; resolves when it is done. Never rejects. */
  checkNow(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#queued) return this.#queued;
    if (this.#timer) clearTimeout(this.#timer);
    const look = this.#chain
      .then(async () => {
        this.#queued = null;
        await this.#look();
      })
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'a GPU health look went wrong'));
    this.#queued = look;
    this.#chain = look.finally(() => this.#schedule());
    return look;
  }

  #schedule(): void {
    if (this.#closed || !this.#started || this.#queued) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.checkNow(), this.options.checkMs);
    this.#timer.unref();
  }

  async #look(): Promise<void> {
    if (this.#closed) return;
    await this.#readXidLog();
    if (this.#closed) return;
    await this.#askNvidiaSmi().catch((error: unknown) => this.#smi.failed(message(error)));
  }

  async #readXidLog(): Promise<void> {
    const tail = this.#tail;
    if (!tail) return;
    const { logger } = this.options;
    let lines: string[];
    try {
      if (!this.#tailStarted) {
        await tail.start();
        this.#tailStarted = true;
        if (!tail.found)
          logger.warn({ path: tail.path }, 'the Xid log is not there yet: it is read once it appears');
      }
      lines = await tail.read();
    } catch (error) {
      if (this.#logFailing === null)
        logger.warn(
          { path: tail.path, cause: message(error) },
          'cannot read the Xid log; Xid errors are not seen until it can',
        );
      this.#logFailing = message(error);
      return;
    }
    if (this.#logFailing !== null)
      logger.info({ path: tail.path, after: this.#logFailing }, 'Xid log read again');
    this.#logFailing = null;
    for (const line of lines) this.#onLogLine(line);
  }

  #onLogLine(line: string): void {
    const event = parseXidLine(line);
    const gpu = event && this.#gpus.find((g) => samePciDevice(g.pci, event.pci));
    if (!event || !gpu) return; // not an Xid, or one of a GPU this tracker does not use
    const broken = brokenGpuReason(event);
    if (broken !== null) return this.#markUnhealthy(gpu, broken);
    this.options.logger.warn(
      { gpu: gpu.index, xid: event.xid, detail: event.detail, taskIds: this.#tasksOn(gpu.index, true) },
      `Xid ${event.xid} on GPU ${gpu.index}: an application fault, not the GPU's; logged only`,
    );
  }

  async #askNvidiaSmi(): Promise<void> {
    const result = await runNvidiaSmiQuery(this.#command, '--query-gpu', HEALTH_FIELDS, this.#cancel.signal);
    if (result.isCanceled) return;
    const answer =
      result.timedOut || result.exitCode === undefined
        ? null
        : parseHealthAnswer(`${String(result.stdout)}\n${String(result.stderr)}`);
    if (!answer || (answer.rows.length === 0 && answer.unreachable.length === 0)) {
      const cause = result.failed
        ? failureOf(this.#command, result, NVIDIA_SMI_TIMEOUT_MS)
        : `${this.#command} listed no GPU`;
      return this.#smi.failed(cause);
    }
    this.#smi.worked();
    for (const gpu of this.#gpus) {
      const fault = this.#unhealthy.has(gpu.index) ? null : faultOf(gpu, answer, this.#eccAtStart);
      if (fault !== null) this.#markUnhealthy(gpu, fault);
    }
  }

  /** Holds the GPU back for good, stops the tasks on it, and reports it once. */
  #markUnhealthy(gpu: WatchedGpu, reason: string): void {
    if (this.#unhealthy.has(gpu.index)) return;
    this.#unhealthy.set(gpu.index, reason);
    this.options.pool.hold(gpu.index, { kind: 'unhealthy', reason });
    const taskIds = this.#tasksOn(gpu.index, true);
    const fault = `GPU ${gpu.index} (${gpu.pciBusId ?? gpu.uuid}) failed under the task: ${reason}`;
    // Those whose process already ended are told too: one that failed is handed back with it.
    for (const id of this.#tasksOn(gpu.index, false)) this.options.attempts.running.get(id)?.gpuFailed(fault);
    this.options.logger.error(
      {
        gpu: gpu.index,
        uuid: gpu.uuid,
        pciBusId: gpu.pciBusId,
        reason,
        taskIds,
        ...eventField('gpu-unhealthy'),
      },
      `GPU unhealthy: ${reason}; it takes no task until the tracker restarts`,
    );
    this.options.emit('gpu-unhealthy', { gpu: gpu.index, reason, taskIds });
  }

  /** The tasks on GPU `index` (`running`: only those whose process still runs). */
  #tasksOn(index: number, running: boolean): string[] {
    const ids: string[] = [];
    for (const [id, task] of this.options.attempts.running)
      if (task.gpuIds.includes(index) && !(running && task.hasExited)) ids.push(id);
    return ids;
  }

  /** Another hold put over an unhealthy GPU (its task's settling, a drain): unhealthy again. */
  #holdAgain(): void {
    for (const [index, reason] of this.#unhealthy) {
      if (this.options.pool.heldGpus.get(index)?.kind !== 'unhealthy')
        this.options.pool.hold(index, { kind: 'unhealthy', reason });
    }
  }
}

/** What the tracker gives its health check (tracker.ts), once its pool and attempts are made. */
export interface GpuHealthParts {
  pool: SlotPool;
  attempts: RunningAttempts;
  emit: EmitTrackerEvent;
  /** The tracker: the check starts with its `started` event and stops at `stopped`. */
  tracker: EventEmitter<TrackerEmitterEvents>;
}

/**
 * Makes a tracker's GPU health check (gpu/gpu-health.ts), wired to its running attempts and its
 * start and stop; create-tracker.ts passes it as TrackerDeps.gpuHealth.
 */
export type GpuHealthFactory = (parts: GpuHealthParts) => GpuHealth;

/**
 * The health check of a tracker's GPUs (none without GPUs, when the inventory could not be read, or
 * with GPUFLEET_GPU_HEALTH_MS=0).
 */
export function healthCheck(
  config: Pick<TrackerConfig, 'gpuHealthMs' | 'xidLog'>,
  logger: Logger,
  command: string | undefined,
  gpuIds: readonly number[],
  inventory: GpuInventory | undefined,
): GpuHealthFactory | undefined {
  if (gpuIds.length === 0 || !inventory || inventory.error !== null || config.gpuHealthMs === 0) return;
  const gpus = gpuIds.flatMap((index) => {
    const device = inventory.gpus.find((g) => g.index === index);
    return device ? [{ index, uuid: device.uuid, pciBusId: device.pciBusId }] : [];
  });
  const { gpuHealthMs: checkMs, xidLog } = config;
  return ({ pool, attempts, emit, tracker }) => {
    const health = new GpuHealth({ pool, attempts, emit, gpus, checkMs, xidLog, logger, command });
    attempts.checkGpusWith(() => health.checkNow());
    tracker.once('started', () => health.start());
    tracker.once('stopped', () => void health.close());
    return health;
  };
}
