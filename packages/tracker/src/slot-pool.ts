/**
 * The tracker's slots: its allowed GPUs and its CPU slots. GPUs are given all-or-nothing; a task
 * that asks for no GPU takes one CPU slot. A task gives its slots back as soon as its process has
 * ended, and is "finishing" while its outputs are stored: at most twice as many tasks may be
 * finishing as there are slots, and never fewer than MIN_FINISHING, so a slow artifact store slows
 * the tracker down instead of piling up task folders. Waiters are woken whenever slots are
 * released or a task finishes.
 */

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
}

export class SlotPool {
  private readonly freeGpus: number[];
  private freeCpu: number;
  private waiters: Array<() => void> = [];
  /** While a suspect task runs it holds the whole tracker: nothing else fits. */
  private exclusive = false;
  private finishing = 0;
  /** How many tasks may be storing their outputs at once. */
  readonly maxFinishing: number;

  constructor(
    readonly gpuIds: readonly number[],
    readonly cpuSlots: number,
  ) {
    this.freeGpus = [...gpuIds];
    this.freeCpu = cpuSlots;
    this.maxFinishing = Math.max(MIN_FINISHING, 2 * (gpuIds.length + cpuSlots));
  }

  get freeGpuCount(): number {
    return this.freeGpus.length;
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
    if (this.exclusive || this.finishing >= this.maxFinishing) return false;
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

  /** Gives the slots back; with `finishing`, the task goes on storing its outputs (see `finished`). */
  release(grant: SlotGrant, finishing = false): void {
    if (grant.exclusive) this.exclusive = false;
    if (grant.cpu) this.freeCpu++;
    this.freeGpus.push(...grant.gpuIds);
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
