/**
 * What ends or restarts a running service besides its own exit (service-run.ts): its maximum age
 * (`maxAgeMs`, counted from when it first became ready), its idle timeout (`idleTimeoutMs`: no
 * client connection for that long, client-connections.ts; counted from each time it becomes
 * ready), and its readiness check run again every `checkMs` while it is ready (tcp and http
 * checks): three periods in a row without passing restart it. The maximum age and the idle timeout
 * end it for good (`stopped`, and a `service-stopped` event); a failed check kills only the run.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Claim, ServiceSpec } from '@gpufleet/core';
import type { KillReason } from '../process/executer-process.js';
import { eventField, type EmitTrackerEvent } from '../tracker-events.js';
import type { AttemptProcessHooks } from '../run/attempt-process.js';
import { watchIdle, type IdleWatch } from './client-connections.js';
import type { ServicePorts } from './port-pool.js';
import { waitForReadiness } from './readiness.js';

/** Checks in a row a ready service may fail before it is restarted. */
export const CHECK_FAILURES = 3;

/** Port name → host:port (an IPv6 address in brackets). */
export function endpointsOf(host: string, ports: ServicePorts): Record<string, string> {
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, `${shown}:${port}`]));
}

export interface LifetimeInput {
  claim: Claim;
  service: ServiceSpec;
  deps: { services: { checkMs: number; idlePollMs?: number } };
  hooks: Pick<AttemptProcessHooks, 'logger'>;
}

export interface RunWatch {
  /** Stops watching the run; what its checks found when they restarted it, else null. */
  close(): string | null;
}

export class ServiceLifetime {
  /** Why its lifetime ended it; null while it has not. */
  stopped: { why: 'idle' | 'max-age'; reason: string } | null = null;
  #maxAge: NodeJS.Timeout | undefined;
  #run: (() => void) | null = null;

  constructor(
    private readonly input: LifetimeInput,
    private readonly on: { kill: (reason: KillReason) => void; emit: EmitTrackerEvent },
  ) {}

  /** It became ready: the maximum age runs from the first time. */
  started(now: number): void {
    const maxAgeMs = this.input.service.maxAgeMs;
    if (maxAgeMs === undefined || this.#maxAge !== undefined) return;
    const at = now;
    this.#maxAge = setTimeout(
      () =>
        this.#end(
          'max-age',
          `past its maximum age of ${maxAgeMs} ms (ready since ${new Date(at).toISOString()})`,
        ),
      maxAgeMs,
    );
  }

  /** Watches one ready run: the idle timeout and the check again. */
  watch(ports: ServicePorts): RunWatch {
    const { service, deps } = this.input;
    const idleTimeoutMs = service.idleTimeoutMs;
    let idle: IdleWatch | null = null;
    if (idleTimeoutMs !== undefined) {
      idle = watchIdle({
        ports: Object.values(ports),
        idleTimeoutMs,
        ...(deps.services.idlePollMs !== undefined && { pollMs: deps.services.idlePollMs }),
        onIdle: () => this.#end('idle', `no client connection for its idle timeout of ${idleTimeoutMs} ms`),
      });
    }
    const checks = new AbortController();
    let failure: string | null = null;
    if (deps.services.checkMs > 0 && !('stdout' in service.ready)) {
      void this.#checkAgain(ports, checks.signal).then((found) => {
        if (found === null || checks.signal.aborted) return;
        failure = found;
        this.on.kill('service_restart');
      });
    }
    const close = (): void => {
      idle?.close();
      checks.abort();
    };
    this.#run = close;
    return {
      close: () => {
        close();
        this.#run = null;
        return failure;
      },
    };
  }

  close(): void {
    clearTimeout(this.#maxAge);
    this.#run?.();
  }

  /** Runs the check every checkMs; resolves with what it found after CHECK_FAILURES failures in a row, null when stopped. */
  async #checkAgain(ports: ServicePorts, signal: AbortSignal): Promise<string | null> {
    const { service, deps } = this.input;
    const periodMs = deps.services.checkMs;
    let failed = 0;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await waitForReadiness({ check: service.ready, ports, timeoutMs: periodMs, signal });
        failed = 0;
        await delay(Math.max(0, periodMs - (Date.now() - started)), undefined, { signal }).catch(
          () => undefined,
        );
      } catch (error) {
        if (signal.aborted) return null;
        failed++;
        if (failed >= CHECK_FAILURES) {
          const found = error instanceof Error ? error.message : String(error);
          return `failed its readiness check ${failed} times in a row while it ran (every ${periodMs} ms): ${found}`;
        }
      }
    }
    return null;
  }

  #end(why: 'idle' | 'max-age', reason: string): void {
    if (this.stopped) return;
    this.stopped = { why, reason };
    const { claim, hooks } = this.input;
    this.on.emit('service-stopped', { taskId: claim.taskId, attempt: claim.attempt, why, reason });
    hooks.logger.info({ why, reason, ...eventField('service-stopped') }, 'service stopped');
    this.on.kill('service_stop');
  }
}
