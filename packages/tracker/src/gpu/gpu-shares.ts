/**
 * The GPUs a tracker's tasks share by memory (a task's `gpuShareMiB`, core gpu-request.ts): per
 * GPU, the shares of the tasks on it. The slot pool (slot-pool.ts) gives a share a free GPU first,
 * one share per GPU while any is free, and doubles up on the shared GPU with the least in use once
 * none is (as the binary manager runs one build per GPU and doubles up only when every GPU has
 * one), while the shares fit the GPU's memory and, where the tracker sets one, its count of shares
 * per GPU (GPUFLEET_MAX_SHARES_PER_GPU). A shared GPU is nobody's alone: no task that wants
 * a whole GPU gets it until its last share has ended.
 */
export class GpuShares {
  readonly #byGpu = new Map<number, number[]>();

  /** The GPUs with a share on them. */
  ids(): number[] {
    return [...this.#byGpu.keys()];
  }

  has(id: number): boolean {
    return this.#byGpu.has(id);
  }

  /** How many shares GPU `id` carries. */
  count(id: number): number {
    return this.#byGpu.get(id)?.length ?? 0;
  }

  /** The memory the shares on GPU `id` take (MiB). */
  usedMiB(id: number): number {
    return (this.#byGpu.get(id) ?? []).reduce((sum, mib) => sum + mib, 0);
  }

  add(id: number, mib: number): void {
    this.#byGpu.set(id, [...(this.#byGpu.get(id) ?? []), mib]);
  }

  /** Takes one share of `mib` off GPU `id`; true when none is left on it. */
  remove(id: number, mib: number): boolean {
    const shares = this.#byGpu.get(id) ?? [];
    const at = shares.indexOf(mib);
    if (at >= 0) shares.splice(at, 1);
    if (shares.length > 0) return false;
    this.#byGpu.delete(id);
    return true;
  }

  /**
   * Of the shared GPUs `candidates` allows, the one with the least in use that has room for `mib`
   * (`memoryOf`: a GPU's memory, MiB); ties to the lowest id.
   */
  leastLoaded(
    candidates: (id: number) => boolean,
    mib: number,
    memoryOf: (id: number) => number,
  ): number | undefined {
    let best: number | undefined;
    for (const id of [...this.#byGpu.keys()].sort((a, b) => a - b)) {
      const used = this.usedMiB(id);
      if (!candidates(id) || memoryOf(id) - used < mib) continue;
      if (best === undefined || used < this.usedMiB(best)) best = id;
    }
    return best;
  }
}
