/**
 * The tracker's slots: its allowed GPUs and its CPU slots. GPUs are given all-or-nothing; a task
 * that asks for no GPU takes one CPU slot. A task gives its slots back as soon as its process has
 * ended, and is "finishing" while its outputs are stored: at most twice as many tasks may be
 * finishing as there are slots, and never fewer than MIN_FINISHING, so a slow artifact store slows
 * the tracker down instead of piling up task folders. Waiters are woken whenever slots are
 * released or a task finishes.
 */

import { gpuSatisfies, isGpuRequest, type GpuRequest, type RequestedGpu } from '@gpufleet/core';
import { GpuShares } from './gpu/gpu-shares.js';

/**
 * Why a GPU is held back: `busy` (a process this tracker did not start uses it), `settling` (the
 * processes of the task that last had it have not left it yet), `drained` (by an operator, or after
 * a settle that timed out), `unhealthy` (a fault the driver reported). `processes`: what holds it.
 */
export interface GpuHold {
  kind: 'busy' | 'settling' | 'drained' | 'unhealthy';
  reason: string;
  processes?: ReadonlyArray<{ pid: number; name: string; memoryMiB: number | null }>;
}

/**
 * The floor of the finishing bound. Storing a short task's outputs takes longer than running it
 * (a few ms of renames and fsyncs), so with the bound at twice one slot a tracker of one GPU would
 * wait for storage between short tasks (exit → next spawn went from 4.3 to 5.7 ms p50).
 */
export const MIN_FINISHING = 8;

export interface SlotGrant {
  gpuIds: number[];
  /** True when the task holds a CPU slot (it asked for no GPU). */
  cpu: boolean;
  /** The task holds the whole tracker. */
  exclusive: boolean;
  /** The task shares its GPU by this much memory (MiB: gpu/gpu-shares.ts); absent: the GPU is its alone. */
  shareMiB?: number;
}

export class SlotPool {
  /** The GPUs of more than one model or memory size: which are free matters, not only how many. */
  readonly mixed: boolean;
  private readonly freeGpus: number[];
  private freeCpu: number;
  private waiters: Array<() => void> = [];
  /**
   * GPUs not given out though no task of this tracker holds them, each with why (a foreign process
   * on it, a task's processes not yet gone from it, a drain, a health fault): `hold`, `unhold`.
   */
  private readonly held = new Map<number, GpuHold>();
  /** Why the whole tracker takes nothing new (a drain), or null. */
  private drainedWhy: string | null = null;
  private readonly listeners = new Set<() => void>();
  /** The GPUs tasks share by memory: in no free list while a share is on them. */
  private readonly shares = new GpuShares();
  /** While a suspect task runs it holds the whole tracker: nothing else fits. */
  private exclusive = false;
  private finishing = 0;
  /** How many tasks may be storing their outputs at once. */
  readonly maxFinishing: number;

  /**
   * `devices`: each GPU id's model and memory as the inventory read them, for the tasks that ask
   * for a GPU model or memory (core gpu-request.ts); a GPU missing from it satisfies none.
   */
  constructor(
    readonly gpuIds: readonly number[],
    readonly cpuSlots: number,
    readonly devices: ReadonlyMap<number, RequestedGpu> = new Map(),
    /** How many shares one GPU may carry (GPUFLEET_MAX_SHARES_PER_GPU); null: as many as its memory holds. */
    readonly maxSharesPerGpu: number | null = null,
  ) {
    this.mixed = new Set([...devices.values()].map((d) => `${d.name}\t${d.memoryMiB}`)).size > 1;
    this.freeGpus = [...gpuIds];
    this.freeCpu = cpuSlots;
    this.maxFinishing = Math.max(MIN_FINISHING, 2 * (gpuIds.length + cpuSlots));
  }

  /** GPUs free to give out: no task of this tracker holds them and none is held back. */
  get freeGpuCount(): number {
    return this.freeGpuIds.length;
  }

  /** The ids of the GPUs free to give out. */
  get freeGpuIds(): readonly number[] {
    return this.held.size === 0 ? this.freeGpus : this.freeGpus.filter((id) => !this.held.has(id));
  }

  /** The GPUs none of this tracker's tasks holds, held back or not. */
  get idleGpuIds(): readonly number[] {
    return this.freeGpus;
  }

  /** The GPUs held back now, with why. */
  get heldGpus(): ReadonlyMap<number, GpuHold> {
    return this.held;
  }

  /** Why the whole tracker takes nothing new, or null (`drain`). */
  get drained(): string | null {
    return this.drainedWhy;
  }

  /**
   * Holds GPU `id` back, whether free now or when its task gives it back, until `unhold` (a second
   * hold replaces the first: the latest reason is told).
   */
  hold(id: number, why: GpuHold): void {
    const before = this.held.get(id);
    this.held.set(id, why);
    if (before?.kind !== why.kind || before.reason !== why.reason) this.changed();
  }

  /** Gives GPU `id` out again (of a hold of `kind` only, when given). */
  unhold(id: number, kind?: GpuHold['kind']): void {
    const held = this.held.get(id);
    if (!held || (kind !== undefined && held.kind !== kind)) return;
    this.held.delete(id);
    this.changed();
  }

  /** The whole tracker takes nothing new while `why` is a reason; null takes it back. */
  drain(why: string | null): void {
    if (why === this.drainedWhy) return;
    this.drainedWhy = why;
    this.changed();
  }

  /** Calls `listener` whenever what may be given out changes other than by a task (hold, drain). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  private changed(): void {
    this.wake();
    for (const listener of this.listeners) listener();
  }

  get freeCpuCount(): number {
    return this.freeCpu;
  }

  get busy(): boolean {
    return this.freeGpus.length < this.gpuIds.length || this.freeCpu < this.cpuSlots || this.finishing > 0;
  }

  /** Whether a task of `gpus` GPUs could ever run here. */
  canEverFit(gpus: number): boolean {
    return gpus === 0 ? this.cpuSlots > 0 : gpus <= this.gpuIds.length;
  }

  fitsNow(gpus: number): boolean {
    if (!this.accepting) return false;
    return gpus === 0 ? this.freeCpu > 0 : gpus <= this.freeGpuCount;
  }

  /**
   * Takes the slots for a task of `gpus` GPUs (lowest ids first; with a GPU `request`, of the GPUs
   * that satisfy it), or null if they are not all free. An `exclusive` grant (a suspect task) needs
   * an idle tracker and keeps every other task out.
   */
  allocate(gpus: number, exclusive = false, request?: GpuRequest): SlotGrant | null {
    const share = request?.shareMiB ?? null;
    // A suspect runs alone: a share of one takes its GPU whole.
    if (share !== null && gpus === 1 && !exclusive) return this.allocateShare(request as GpuRequest, share);
    if (!this.fitsNow(gpus) || (exclusive && this.busy)) return null;
    if (gpus === 0) {
      this.exclusive = exclusive;
      this.freeCpu--;
      return { gpuIds: [], cpu: true, exclusive };
    }
    const free = [...this.freeGpuIds].sort((a, b) => a - b);
    const chosen =
      request && isGpuRequest(request)
        ? free.filter((id) => this.satisfies(id, request)).slice(0, gpus)
        : free.slice(0, gpus);
    if (chosen.length < gpus) return null;
    this.exclusive = exclusive;
    for (const id of chosen) this.freeGpus.splice(this.freeGpus.indexOf(id), 1);
    return { gpuIds: chosen, cpu: false, exclusive };
  }

  /**
   * A share of `mib` of one GPU that satisfies `request`: a free one first (lowest id), else the
   * shared one with the least in use and room left (gpu/gpu-shares.ts); null when none has room.
   */
  private allocateShare(request: GpuRequest, mib: number): SlotGrant | null {
    if (!this.accepting) return null;
    const free = [...this.freeGpuIds].sort((a, b) => a - b).find((id) => this.satisfies(id, request));
    const id =
      free ??
      this.shares.leastLoaded(
        (gpu) => !this.held.has(gpu) && !this.sharesFull(gpu) && this.satisfies(gpu, request),
        mib,
        (gpu) => this.devices.get(gpu)?.memoryMiB ?? 0,
      );
    if (id === undefined) return null;
    if (free !== undefined) this.freeGpus.splice(this.freeGpus.indexOf(free), 1);
    this.shares.add(id, mib);
    return { gpuIds: [id], cpu: false, exclusive: false, shareMiB: mib };
  }

  /**
   * The memory (MiB) a share could have on GPU `id` now: all of a free one's, what the shares on a
   * shared one leave; null when it takes no share (a task has it whole, it is held back, it carries
   * as many shares as allowed, or the
   * tracker takes nothing now).
   */
  shareRoomMiB(id: number): number | null {
    const memory = this.devices.get(id)?.memoryMiB ?? null;
    if (memory === null || !this.accepting || this.held.has(id)) return null;
    if (this.shares.has(id)) return this.sharesFull(id) ? null : memory - this.shares.usedMiB(id);
    return this.freeGpus.includes(id) ? memory : null;
  }

  /** GPU `id` carries as many shares as the tracker allows on one GPU. */
  private sharesFull(id: number): boolean {
    return this.maxSharesPerGpu !== null && this.shares.count(id) >= this.maxSharesPerGpu;
  }

  /** The GPUs tasks share now. */
  get sharedGpuIds(): number[] {
    return this.shares.ids();
  }

  /** Whether a share of some size could start now (a GPU free or shared with room). */
  get canShare(): boolean {
    return this.gpuIds.some((id) => (this.shareRoomMiB(id) ?? 0) > 0);
  }

  /** Whether the tracker takes tasks now at all (no suspect alone, no drain, not too many finishing). */
  private get accepting(): boolean {
    return !this.exclusive && this.drainedWhy === null && this.finishing < this.maxFinishing;
  }

  /** Whether GPU `id` satisfies `request` (core gpu-request.ts). */
  satisfies(id: number, request: GpuRequest): boolean {
    const device = this.devices.get(id);
    return device !== undefined && gpuSatisfies(request, device);
  }

  /** Gives the slots back; with `finishing`, the task goes on storing its outputs (see `finished`). */
  release(grant: SlotGrant, finishing = false): void {
    if (grant.exclusive) this.exclusive = false;
    if (grant.cpu) this.freeCpu++;
    const share = grant.shareMiB;
    if (share === undefined) this.freeGpus.push(...grant.gpuIds);
    // A shared GPU is free again once its last share has ended.
    else for (const id of grant.gpuIds) if (this.shares.remove(id, share)) this.freeGpus.push(id);
    if (finishing) this.finishing++;
    this.wake();
  }

  /** A task released with `finishing` has completed. */
  finished(): void {
    this.finishing--;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next release (or when `signal` aborts). */
  async nextRelease(signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.waiters.push(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }
}
