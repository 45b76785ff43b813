/**
 * The tracker's slots: its allowed GPUs and its CPU slots. GPUs are given all-or-nothing; a task
 * that asks for no GPU takes one CPU slot. Waiters are woken whenever slots are released.
 */

export interface SlotGrant {
  gpuIds: number[];
  /** True when the task holds a CPU slot (it asked for no GPU). */
  cpu: boolean;
  /** The task holds the whole tracker. */
  exclusive: boolean;
}

export class SlotPool {
  private readonly freeGpus: number[];
  private freeCpu: number;
  private waiters: Array<() => void> = [];
  /** While a suspect task runs it holds the whole tracker: nothing else fits. */
  private exclusive = false;

  constructor(
    readonly gpuIds: readonly number[],
    readonly cpuSlots: number,
  ) {
    this.freeGpus = [...gpuIds];
    this.freeCpu = cpuSlots;
  }

  get freeGpuCount(): number {
    return this.freeGpus.length;
  }

  get freeCpuCount(): number {
    return this.freeCpu;
  }

  get busy(): boolean {
    return this.freeGpus.length < this.gpuIds.length || this.freeCpu < this.cpuSlots;
  }

  /** Whether a task of `gpus` GPUs could ever run here. */
  canEverFit(gpus: number): boolean {
    return gpus === 0 ? this.cpuSlots > 0 : gpus <= this.gpuIds.length;
  }

  fitsNow(gpus: number): boolean {
    if (this.exclusive) return false;
    return gpus === 0 ? this.freeCpu > 0 : gpus <= this.freeGpus.length;
  }

  /**
   * Takes the slots for a task of `gpus` GPUs (lowest ids first), or null if they are not all free.
   * An `exclusive` grant (a suspect task) needs an idle tracker and keeps every other task out.
   */
  allocate(gpus: number, exclusive = false): SlotGrant | null {
    if (!this.fitsNow(gpus) || (exclusive && this.busy)) return null;
    this.exclusive = exclusive;
    if (gpus === 0) {
      this.freeCpu--;
      return { gpuIds: [], cpu: true, exclusive };
    }
    this.freeGpus.sort((a, b) => a - b);
    return { gpuIds: this.freeGpus.splice(0, gpus), cpu: false, exclusive };
  }

  release(grant: SlotGrant): void {
    if (grant.exclusive) this.exclusive = false;
    if (grant.cpu) this.freeCpu++;
    this.freeGpus.push(...grant.gpuIds);
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
