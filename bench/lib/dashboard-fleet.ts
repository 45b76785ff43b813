/**
 * The fleet bench/dashboard.ts shows, played through core's protocol functions (no tracker
 * processes): `trackers` trackers of `gpus` H100s each, registered as a real tracker registers
 * (tracker-presence.ts: the registry hash entry with its running tasks, the GPUs' inventory, their
 * latest usage sample, a GPU held back by a foreign process on every fifth tracker), heartbeating
 * every 5 s (the tracker's default), staggered; a backlog of waiting tasks enqueued with `enqueue`
 * after the catalog is published; `busyShare` of the GPUs running a task (taken with `takeTask` by
 * the tracker's consumer name, set running). `startDrive(rate)` then runs `rate` tasks a second
 * through the queue as the trackers would: each second `rate` tasks are enqueued, as many taken
 * onto free GPUs and set running, and as many completed, each held long enough that the busy share
 * stays where it was; the backlog stays at its depth (the oldest waiting tasks are taken).
 */
import type { Redis } from 'ioredis';
import {
  completeTask,
  enqueue,
  newToken,
  publishCatalog,
  queueKeys,
  setTaskStatus,
  takeTask,
  TRACKER_GROUP,
  type CatalogEntry,
  type Claim,
  type GpuDevice,
  type GpuHoldInfo,
  type QueueKeys,
  type TrackerInfo,
} from '@gpufleet/core';
import { seededRandom } from './prng.js';

export const QUEUE = 'default';
/** The tracker's default heartbeat (GPUFLEET_LEASE_MS 15 s / 3). */
const HEARTBEAT_MS = 5000;
const LEASE_MS = 3_600_000;
const TENANTS = ['vision', 'speech', 'physics', 'biology', 'ops'];
const ENQUEUE_BATCH = 200;
const EXECUTER: CatalogEntry = {
  name: 'train',
  version: '1.0.0',
  description: 'benchmark executer (never runs)',
  params: { type: 'object', properties: { steps: { type: 'integer' } }, additionalProperties: false },
  gpus: 1,
  timeLimitMs: 3_600_000,
  tracker: 'gpu-node-01',
  updatedAt: 0,
};

interface Slot {
  tracker: number;
  gpu: number;
  claim: Claim | null;
  /** When the drive completes its task (ms since the epoch). */
  until: number;
  /** Held back by a foreign process: never given a task. */
  held: boolean;
}

export interface BenchFleetOptions {
  trackers: number;
  gpus: number;
  /** The share of the GPUs that run a task (0–1). */
  busyShare: number;
}

export class BenchFleet {
  readonly keys: QueueKeys;
  readonly slots: Slot[] = [];
  /** Tasks the drive started and completed since it started; what went wrong (first few). */
  started = 0;
  completed = 0;
  readonly errors: string[] = [];
  readonly #random = seededRandom(21);
  readonly #names: string[];
  readonly #uuids: string[][];
  readonly #startedAt = Date.now();
  #nextBeat: number[] = [];
  #beats: NodeJS.Timeout | undefined;
  #drive: NodeJS.Timeout | undefined;
  #tick: Promise<void> | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: BenchFleetOptions,
  ) {
    this.keys = queueKeys(prefix, QUEUE);
    this.#names = Array.from(
      { length: options.trackers },
      (_, i) => `gpu-node-${String(i + 1).padStart(2, '0')}`,
    );
    const hex = (): string =>
      Math.floor(this.#random() * 2 ** 32)
        .toString(16)
        .padStart(8, '0');
    this.#uuids = this.#names.map(() =>
      Array.from({ length: options.gpus }, () => {
        const h = `${hex()}${hex()}${hex()}${hex()}`;
        return `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      }),
    );
    for (let t = 0; t < options.trackers; t++)
      for (let g = 0; g < options.gpus; g++)
        this.slots.push({
          tracker: t,
          gpu: g,
          claim: null,
          until: 0,
          held: t % 5 === 2 && g === options.gpus - 1,
        });
  }

  get gpuCount(): number {
    return this.slots.length;
  }

  /** Catalog, `waiting` tasks, the trackers' registrations, the busy GPUs; then heartbeats. */
  async setUp(waiting: number, onProgress: (message: string) => void): Promise<void> {
    await publishCatalog(this.redis, this.keys, [EXECUTER]);
    await this.redis.xgroup('CREATE', this.keys.tasks(1), TRACKER_GROUP, '0', 'MKSTREAM');
    const usable = this.slots.filter((s) => !s.held);
    const busy = Math.round(this.options.busyShare * usable.length);
    const total = waiting + busy;
    for (let start = 0; start < total; start += ENQUEUE_BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(ENQUEUE_BATCH, total - start) }, (_, k) => this.#enqueue(start + k)),
      );
      if ((start / ENQUEUE_BATCH) % 10 === 9) onProgress(`  enqueued ${start + ENQUEUE_BATCH} of ${total}`);
    }
    for (const slot of this.#shuffled(usable).slice(0, busy)) await this.#startOn(slot, Date.now());
    this.started = 0;
    const now = Date.now();
    this.#nextBeat = this.#names.map((_, t) => now + Math.round((t * HEARTBEAT_MS) / this.#names.length));
    await Promise.all(this.#names.map((_, t) => this.#register(t, now)));
    this.#beats = setInterval(() => void this.#heartbeat(), 250);
  }

  /** Runs `rate` tasks a second through the queue until `stopDrive`. */
  startDrive(rate: number): void {
    const usable = this.slots.filter((s) => !s.held).length;
    const holdMs = (1000 * this.options.busyShare * usable) / rate;
    const now = Date.now();
    for (const slot of this.slots) if (slot.claim) slot.until = now + this.#random() * holdMs;
    const t0 = performance.now();
    let asked = 0;
    this.#drive = setInterval(() => {
      if (this.#tick) return;
      const want = Math.floor(((performance.now() - t0) / 1000) * rate) - asked;
      asked += want;
      // Tasks that found no free GPU (a stalled tick on a loaded machine) are asked again next tick.
      this.#tick = this.#driveTick(want, holdMs, usable)
        .then((started) => void (asked -= want - started))
        .finally(() => (this.#tick = null));
    }, 20);
  }

  async stopDrive(): Promise<void> {
    clearInterval(this.#drive);
    await this.#tick;
  }

  async close(): Promise<void> {
    await this.stopDrive();
    clearInterval(this.#beats);
  }

  /**
   * Ends the tasks due, then starts up to `want` on free GPUs; returns how many started. Falling
   * behind by more than two fleets' worth of tasks is an error: the rate is more than the fleet (or
   * this machine) can run, and the figures would not be the rate's.
   */
  async #driveTick(want: number, holdMs: number, usable: number): Promise<number> {
    try {
      const now = Date.now();
      const ending = this.slots.filter((s) => s.claim && s.until <= now);
      await Promise.all(ending.map((s) => this.#finish(s)));
      const free = this.#shuffled(this.slots.filter((s) => !s.claim && !s.held));
      if (want - free.length > 2 * usable)
        this.#error(`${want - free.length} tasks found no free GPU: the fleet cannot keep up with the rate`);
      await Promise.all(
        free.slice(0, want).map(async (slot, k) => {
          await this.#enqueue(this.started + k);
          await this.#startOn(slot, now + holdMs);
        }),
      );
      return Math.min(want, free.length);
    } catch (error) {
      this.#error(error instanceof Error ? error.message : String(error));
      return want;
    }
  }

  async #enqueue(n: number): Promise<void> {
    const tenant = TENANTS[n % TENANTS.length] as string;
    await enqueue(
      { redis: this.redis, prefix: this.prefix },
      { executer: EXECUTER.name, gpus: 1, params: { steps: 100 + (n % 900) } },
      { tenant },
    );
  }

  /** Takes the oldest task onto `slot` as its tracker would, and sets it running. */
  async #startOn(slot: Slot, until: number): Promise<void> {
    const result = await takeTask(this.redis, this.keys, {
      consumer: this.#names[slot.tracker] as string,
      sizes: [{ gpus: 1, fitsNow: true }],
      leaseMs: LEASE_MS,
      token: newToken(),
      now: Date.now(),
      idle: !this.slots.some((s) => s.tracker === slot.tracker && s.claim),
    });
    if (result.kind !== 'claimed') throw new Error(`take found no task: ${result.kind}`);
    slot.claim = result.claim;
    slot.until = until;
    await setTaskStatus(this.redis, this.keys, result.claim, 'running', Date.now());
    this.started++;
  }

  async #finish(slot: Slot): Promise<void> {
    const claim = slot.claim as Claim;
    slot.claim = null;
    await completeTask(this.redis, this.keys, claim, 'succeeded', Date.now(), '', { exitCode: 0 });
    this.completed++;
  }

  async #heartbeat(): Promise<void> {
    const now = Date.now();
    try {
      await Promise.all(
        this.#nextBeat.map(async (due, t) => {
          if (due > now) return;
          this.#nextBeat[t] = due + HEARTBEAT_MS;
          await this.#register(t, now);
        }),
      );
    } catch (error) {
      this.#error(`heartbeat: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Writes tracker `t`'s registry entry as tracker-presence.ts's `info()` makes it. */
  async #register(t: number, now: number): Promise<void> {
    const name = this.#names[t] as string;
    const slots = this.slots.filter((s) => s.tracker === t);
    const running: Record<string, number[]> = {};
    for (const s of slots) if (s.claim) running[s.claim.taskId] = [s.gpu];
    const gpus: GpuDevice[] = slots.map((s) => ({
      index: s.gpu,
      uuid: this.#uuids[t]?.[s.gpu] as string,
      pciBusId: `00000000:${(0x18 + 0x10 * s.gpu).toString(16).toUpperCase()}:00.0`,
      name: 'NVIDIA H100 80GB HBM3',
      memoryMiB: 81559,
      computeCapability: '9.0',
      migMode: 'disabled',
    }));
    const r = this.#random;
    const samples = slots.map((s) => {
      const on = s.claim !== null || s.held;
      return {
        index: s.gpu,
        utilizationPercent: on ? Math.round(60 + 40 * r()) : 0,
        memoryUsedMiB: on ? Math.round(8000 + 70000 * r()) : Math.round(4 * r()),
        temperatureC: on ? Math.round(55 + 20 * r()) : Math.round(30 + 8 * r()),
        powerW: on ? Math.round(300 + 400 * r()) : Math.round(60 + 20 * r()),
      };
    });
    const holds: GpuHoldInfo[] = slots
      .filter((s) => s.held)
      .map((s) => ({
        index: s.gpu,
        kind: 'busy',
        reason: 'used by a process this tracker did not start: jupyter-kernel (pid 4242, 3000 MiB)',
        processes: [{ pid: 4242, name: 'jupyter-kernel', memoryMiB: 3000 }],
      }));
    const info: TrackerInfo = {
      name,
      instance: `bench-${t}`,
      host: `${name}.cluster.internal`,
      pid: 4000 + t,
      pidStartTime: null,
      gpus: slots.map((s) => s.gpu),
      cpuSlots: 1,
      executers: [EXECUTER.name],
      running,
      startedAt: this.#startedAt,
      heartbeatAt: now,
      heartbeatMs: HEARTBEAT_MS,
      gpuInventory: { driverVersion: '550.54.15', cudaVersion: '12.4', gpus, error: null },
      gpuStats: { at: now - Math.round(1000 * r()), gpus: samples },
      ...(holds.length > 0 && { gpuHolds: holds }),
    };
    await this.redis.hset(this.keys.trackers, name, JSON.stringify(info));
  }

  #shuffled<T>(items: T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  #error(message: string): void {
    if (this.errors.length < 10) this.errors.push(message);
  }
}
