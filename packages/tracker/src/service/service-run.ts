/**
 * A service attempt's process phase (an executer whose manifest has a `service` block), in place
 * of attempt-process.ts's single run: the ports (port-pool.ts; while the range has none free the
 * task waits here, `waiting-for-port` with the reason, until another service gives some back),
 * the process with `{port.NAME}` and GPUFLEET_PORT_<NAME>, its readiness check (readiness.ts),
 * then its endpoints published (`ready`, with the host the tracker advertises) only once the check
 * passed. While it runs: the check again every `checkMs` (tcp and http checks; a stdout check is
 * passed once), the idle timeout (client-connections.ts) and the maximum age (service-lifetime.ts).
 *
 * It ends, and the attempt settles as any other, when the task is cancelled, times out, is
 * preempted, loses its lease or the tracker shuts down (the kill's reason stands); when its
 * lifetime ends it (succeeded, with `serviceStopped` saying why); or when it exited or failed its
 * check with no restart left (failed: by its exit, or SERVICE_NOT_READY). Otherwise it restarts
 * after the policy's backoff, keeping its ports where it can: each restart is a `restarting` event
 * (its endpoints withdrawn in the same write), and the earlier run's logs are kept among the
 * outputs as `service-runs/run-N.stdout.txt` and `.stderr.txt`.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  setServiceState,
  type Claim,
  type Fields,
  type ServiceChange,
  type ServiceSpec,
} from '@gpufleet/core';
import { EMPTY_SHA256 } from '../process/log-file-reader.js';
import type { ExecuterProcessResult, KillReason } from '../process/executer-process.js';
import { processSpecOf, type ReadySpec } from '../run/attempt-prepare.js';
import { runAttemptProcess, type AttemptProcessHooks } from '../run/attempt-process.js';
import type { TaskExecutionDeps } from '../run/attempt-types.js';
import { failedWith, type TaskOutcome } from '../run/task-outcome.js';
import type { TaskFolder } from '../run/task-folder.js';
import { eventField } from '../tracker-events.js';
import type { PortPool, ServicePorts } from './port-pool.js';
import { ServiceNotReadyError, waitForReadiness } from './readiness.js';
import { ServiceLifetime, endpointsOf } from './service-lifetime.js';
import { StdoutLines } from './stdout-lines.js';

/** What a tracker gives its services. */
export interface ServiceDeps {
  ports: PortPool;
  /** The host in the endpoints it publishes (GPUFLEET_ADVERTISE_HOST). */
  advertiseHost: string;
  /** How often a ready service's check runs again (GPUFLEET_SERVICE_CHECK_MS); 0: never. */
  checkMs: number;
  /** How often the idle timeout looks at the connections (default client-connections.ts's). */
  idlePollMs?: number;
}

export interface ServiceRunInput {
  deps: TaskExecutionDeps & { services: ServiceDeps };
  claim: Claim;
  spec: ReadySpec;
  service: ServiceSpec;
  folder: TaskFolder;
  gpuIds: readonly number[];
  hooks: AttemptProcessHooks;
}

/** How its last process ended, and what settles the attempt when that is not the usual reading of it. */
export interface ServiceRunResult {
  result: ExecuterProcessResult;
  outcome?: TaskOutcome;
  fields: Fields;
}

/** How often a task waiting for ports looks again, besides when a service gives some back. */
const PORT_RETRY_MS = 5_000;

export async function runService(input: ServiceRunInput): Promise<ServiceRunResult> {
  return new ServiceRun(input).run();
}

class ServiceRun {
  #stop: { reason: KillReason; graceMs?: number } | null = null;
  readonly #stopped = new AbortController();
  #current: ((reason: KillReason, graceMs?: number) => void) | null = null;
  #restarts = 0;
  readonly #startedAt: number;
  readonly #lifetime: ServiceLifetime;

  constructor(private readonly input: ServiceRunInput) {
    this.#startedAt = input.deps.now();
    this.#lifetime = new ServiceLifetime(input, {
      kill: (reason) => this.#current?.(reason),
      emit: input.deps.emit,
    });
  }

  async run(): Promise<ServiceRunResult> {
    const { hooks, deps, claim, spec } = this.input;
    hooks.killable((reason, graceMs) => this.#kill(reason, graceMs));
    // A service never ends by itself: at the tracker's shutdown it stops now, not after the grace.
    const onShutdown = (): void => this.#kill('shutdown');
    if (deps.shutdown?.aborted) onShutdown();
    deps.shutdown?.addEventListener('abort', onShutdown, { once: true });
    const deadline = setTimeout(() => this.#kill('timed_out'), spec.record.timeLimitMs);
    let last: ExecuterProcessResult | null = null;
    try {
      for (;;) {
        const ports = await this.#acquirePorts(last !== null);
        if (ports === null) return this.#ended(last ?? (await this.#neverStarted()));
        const run = await this.#runOnce(ports);
        last = run.result;
        if (this.#stop || this.#lifetime.stopped) return this.#ended(last);
        const policy = this.input.service.restart;
        const why = run.failure ?? describeExit(last);
        if (!policy || this.#restarts >= policy.count) {
          const outcome = run.notReady ? failedWith('SERVICE_NOT_READY', why) : undefined;
          return { ...this.#ended(last), ...(outcome && { outcome }) };
        }
        this.#restarts++;
        await this.#write({ state: 'restarting', reason: why, restarts: this.#restarts });
        deps.emit('service-restarting', {
          ...attemptOf(claim),
          reason: why,
          restarts: this.#restarts,
          delayMs: policy.backoffMs,
        });
        hooks.logger.warn(
          { reason: why, restarts: this.#restarts, ...eventField('service-restarting') },
          'service restarting',
        );
        await this.#keepLogs(this.#restarts);
        await delay(policy.backoffMs, undefined, { signal: this.#stopped.signal }).catch(() => undefined);
        if (this.#stop) return this.#ended(last);
      }
    } finally {
      deps.shutdown?.removeEventListener('abort', onShutdown);
      clearTimeout(deadline);
      this.#lifetime.close();
      deps.services.ports.release(claim.taskId);
      hooks.exited();
    }
  }

  #kill(reason: KillReason, graceMs?: number): void {
    this.#stop ??= { reason, graceMs };
    this.#stopped.abort();
    this.#current?.(reason, graceMs);
  }

  /** The last process's result with the stop's reason (a kill between runs), and the lifetime's outcome. */
  #ended(result: ExecuterProcessResult): ServiceRunResult {
    const fields: Fields = { serviceRestarts: this.#restarts };
    if (this.#stop) return { result: { ...result, killedFor: this.#stop.reason }, fields };
    const stopped = this.#lifetime.stopped;
    if (!stopped) return { result, fields };
    const outcome: TaskOutcome = { status: 'succeeded', error: '' };
    return { result, outcome, fields: { ...fields, serviceStopped: stopped.reason } };
  }

  /** Ports for a run; null when the attempt was stopped while it waited for them. */
  async #acquirePorts(restart: boolean): Promise<ServicePorts | null> {
    const { deps, claim, service, hooks } = this.input;
    const pool = deps.services.ports;
    let told: string | null = null;
    for (;;) {
      if (this.#stop || this.#lifetime.stopped) return null;
      const got = restart
        ? await pool.reserveAgain(claim.taskId, service.ports)
        : await pool.allocate(claim.taskId, service.ports);
      if (got.ok) {
        if (got.moved.length > 0)
          hooks.logger.info({ moved: got.moved, ports: got.ports }, 'service ports moved');
        return got.ports;
      }
      if (got.reason !== told) {
        told = got.reason;
        await this.#write({ state: 'waiting-for-port', reason: got.reason, restarts: this.#restarts });
        deps.emit('service-waiting-for-port', { ...attemptOf(claim), reason: got.reason });
        hooks.logger.warn(
          { reason: got.reason, ...eventField('service-waiting-for-port') },
          'service waiting for a port',
        );
      }
      const signal = AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(PORT_RETRY_MS)]);
      await pool.nextRelease(signal);
    }
  }

  /** One process: started, checked, published once ready, watched until it ends. */
  async #runOnce(
    ports: ServicePorts,
  ): Promise<{ result: ExecuterProcessResult; failure?: string; notReady?: boolean }> {
    const { deps, claim, spec, service, folder, gpuIds, hooks } = this.input;
    const processSpec = processSpecOf(deps, spec, folder, claim.attempt, gpuIds, ports);
    await this.#write({ state: 'starting', restarts: this.#restarts });
    const lines = new StdoutLines();
    const exited = new AbortController();
    const ready = waitForReadiness({
      check: service.ready,
      ports,
      stdout: lines,
      timeoutMs: service.startTimeoutMs,
      signal: AbortSignal.any([exited.signal, this.#stopped.signal]),
    });
    ready.catch(() => undefined); // awaited below; not unhandled meanwhile
    const timeLeftMs = Math.max(1, spec.record.timeLimitMs - (deps.now() - this.#startedAt));
    const running = runAttemptProcess(
      deps,
      claim,
      folder,
      processSpec,
      { timeLimitMs: timeLeftMs, executer: spec.record.executer, gpuIds },
      {
        ...hooks,
        killable: (kill) => {
          this.#current = kill;
          if (this.#stop) kill(this.#stop.reason, this.#stop.graceMs);
          else if (this.#lifetime.stopped) kill('service_stop');
        },
        exited: () => {
          this.#current = null;
          lines.close();
          exited.abort(new Error('the process exited'));
        },
        onOutput: (stream, chunk) => stream === 'stdout' && lines.push(chunk),
      },
    );
    try {
      await ready;
    } catch (error) {
      const timedOut = error instanceof ServiceNotReadyError && error.why === 'timeout';
      if (timedOut) this.#current?.('service_restart'); // not ready in time: this run is over
      const result = await running;
      return timedOut ? { result, failure: (error as Error).message, notReady: true } : { result };
    }
    this.#lifetime.started(deps.now());
    if (exited.signal.aborted || this.#stop) return { result: await running };
    const endpoints = endpointsOf(deps.services.advertiseHost, ports);
    await this.#write({ state: 'ready', endpoints, restarts: this.#restarts });
    deps.emit('service-ready', { ...attemptOf(claim), endpoints, restarts: this.#restarts });
    hooks.logger.info({ endpoints, ...eventField('service-ready') }, 'service ready');
    const watch = this.#lifetime.watch(ports);
    const result = await running;
    const failure = watch.close();
    return failure === null ? { result } : { result, failure, notReady: true };
  }

  #write(change: ServiceChange): Promise<unknown> {
    const { deps, claim, hooks } = this.input;
    return hooks
      .retry('record the service state', () =>
        setServiceState(deps.redis, deps.keys, claim, deps.now(), change),
      )
      .catch((error: unknown) => hooks.logger.warn({ err: error }, 'could not record the service state'));
  }

  /** The run that ended: its logs go among the outputs, the next run writes fresh ones. */
  async #keepLogs(run: number): Promise<void> {
    const { folder, hooks } = this.input;
    const dir = join(folder.outputDir, 'service-runs');
    try {
      await mkdir(dir, { recursive: true });
      await rename(folder.stdoutPath, join(dir, `run-${run}.stdout.txt`));
      await rename(folder.stderrPath, join(dir, `run-${run}.stderr.txt`));
    } catch (error) {
      hooks.logger.warn({ err: error }, 'could not keep the logs of the service’s earlier run');
    }
  }

  /** A result for an attempt stopped before its first process (empty logs, as settle expects). */
  async #neverStarted(): Promise<ExecuterProcessResult> {
    const { folder } = this.input;
    await Promise.all([writeFile(folder.stdoutPath, ''), writeFile(folder.stderrPath, '')]);
    const empty = { size: 0, sha256: EMPTY_SHA256 };
    return {
      exitCode: null,
      signal: null,
      killedFor: this.#stop?.reason ?? null,
      spawnError: null,
      infraError: null,
      stderrTail: '',
      durationMs: 0,
      logs: { stdout: empty, stderr: empty },
    };
  }
}

function attemptOf(claim: Claim): { taskId: string; attempt: number } {
  return { taskId: claim.taskId, attempt: claim.attempt };
}

function describeExit(result: ExecuterProcessResult): string {
  if (result.spawnError) return `could not start: ${result.spawnError}`;
  if (result.exitCode !== null) return `the service exited with code ${result.exitCode}`;
  return `the service was killed by signal ${result.signal ?? 'unknown'}`;
}
