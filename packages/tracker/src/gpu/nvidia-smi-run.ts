/**
 * What the tracker's periodic GPU checks (gpu-sampler.ts, gpu-occupancy.ts, gpu-health.ts) share:
 * one nvidia-smi query as they all ask it (CSV without header or units, never rejecting, the
 * inventory's timeout, killed when the check closes), and the report of a failing check, logged
 * once with its cause and again, once, when it works again.
 */
import { execa, type Result } from 'execa';
import type { Logger } from '@gpufleet/core';
import { NVIDIA_SMI_TIMEOUT_MS } from './read-gpu-inventory.js';

/** `nvidia-smi <query>=<fields> --format=csv,noheader,nounits`, cancelled by `signal`. */
export function runNvidiaSmiQuery(
  command: string,
  query: '--query-gpu' | '--query-compute-apps',
  fields: readonly string[],
  signal: AbortSignal,
  timeoutMs = NVIDIA_SMI_TIMEOUT_MS,
): Promise<Result> {
  return execa(command, [`${query}=${fields.join(',')}`, '--format=csv,noheader,nounits'], {
    reject: false,
    timeout: timeoutMs,
    cancelSignal: signal,
  });
}

/** A check that may fail for a while: its failure logged once with the cause, its recovery once. */
export class FailureReport {
  #cause: string | null = null;

  constructor(
    private readonly logger: Logger,
    /** Logged (warn) with `{cause}` when it starts failing. */
    private readonly failedMessage: string,
    /** Logged (info) with `{after: cause}` when it works again. */
    private readonly resumedMessage: string,
  ) {}

  /** Why it fails now; null while it works. */
  get cause(): string | null {
    return this.#cause;
  }

  failed(cause: string): void {
    if (this.#cause !== null) return;
    this.#cause = cause;
    this.logger.warn({ cause }, this.failedMessage);
  }

  worked(): void {
    if (this.#cause === null) return;
    this.logger.info({ after: this.#cause }, this.resumedMessage);
    this.#cause = null;
  }
}
