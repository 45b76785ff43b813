/**
 * `gpufleet endpoints <id>`: a service task's endpoints (an executer with a `service` block), one
 * per line `name  host:port` on stdout, its state and uptime on stderr; `--json` prints `{taskId,
 * status, state, endpoints, readyAt, reason}`. A service that is not ready now (queued, starting,
 * restarting...) prints its state and why and exits 5 (NOT_READY); a task that ended exits 1.
 * `--wait` waits for the endpoints instead (`--timeout`: at most this long, then exit 5).
 * `waitReadyAll` does the same for `submit --wait-ready`.
 */
import type { Command } from 'commander';
import { TaskEndedError, UsageError, WaitTimeoutError } from '../../errors.js';
import type { TaskView } from '../../generated/api-types.js';
import type { ServiceEndpoints } from '../../task/service-endpoints.js';
import { isFinalStatus } from '../../task/task-events.js';
import type { CliContext } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { outcome } from '../format.js';
import { endpointLines, restartsText, serviceState, uptime } from '../service-text.js';
import { durationArg, type CommandRunner } from './command-kit.js';

export interface EndpointsFlags {
  wait?: boolean;
  /** ms: with --wait, the longest wait. */
  timeout?: number;
}

/** What `--json` prints of a task's service. */
interface EndpointsDocument {
  taskId: string;
  status: TaskView['status'];
  state: NonNullable<TaskView['service']>['state'] | null;
  endpoints: Record<string, string> | null;
  readyAt: string | null;
  reason: string | null;
}

function readyDocument(ready: ServiceEndpoints): EndpointsDocument {
  const { taskId, endpoints, readyAt } = ready;
  return { taskId, status: 'running', state: 'ready', endpoints, readyAt, reason: null };
}

/** Endpoint lines (prefixed `[id] ` when several tasks are shown) and `ready for 5s` on stderr. */
export function printReady(ctx: CliContext, ready: ServiceEndpoints, prefix = ''): void {
  for (const line of endpointLines(ready.endpoints)) ctx.out.line(`${prefix}${line}`);
  ctx.out.note(`${prefix}ready for ${uptime(ready.readyAt)} on ${ready.tracker ?? 'its tracker'}`);
}

/** Waits for a task's endpoints; a timeout is printed and returned as NOT_READY. */
async function waitReady(
  ctx: CliContext,
  id: string,
  timeoutMs: number | undefined,
): Promise<ServiceEndpoints | TaskEndedError | WaitTimeoutError> {
  try {
    return await ctx.client.waitForEndpoints(id, { timeoutMs, signal: ctx.signal });
  } catch (error) {
    if (error instanceof TaskEndedError || error instanceof WaitTimeoutError) return error;
    throw error;
  }
}

/** The outcome of waiting for each task's endpoints, for `submit --wait-ready`'s summary. */
export interface ReadyOutcome {
  status: TaskView['status'];
  endpoints: Record<string, string> | null;
  readyAt: string | null;
  exitCode?: number | null;
  error?: string | null;
}

/**
 * Waits until each task's service is ready, printing its endpoints as it is (or why not); the exit
 * code is 1 if one ended first, else 5 if one timed out, else 0.
 */
export async function waitReadyAll(
  ctx: CliContext,
  ids: readonly string[],
  timeoutMs: number | undefined,
): Promise<{ code: number; outcomes: Map<string, ReadyOutcome> }> {
  const outcomes = new Map<string, ReadyOutcome>();
  let code: number = EXIT.OK;
  ctx.out.progress.update(`waiting for ${ids.length === 1 ? 'the service' : `${ids.length} services`}`);
  try {
    await Promise.all(
      ids.map(async (id) => {
        const result = await waitReady(ctx, id, timeoutMs);
        const prefix = ids.length > 1 ? `[${id}] ` : '';
        if (result instanceof TaskEndedError) {
          code = EXIT.FAILED;
          ctx.out.note(`gpufleet: ${result.message}`);
          const { status, exitCode, error } = result;
          outcomes.set(id, { status, endpoints: null, readyAt: null, exitCode, error });
        } else if (result instanceof WaitTimeoutError) {
          if (code === EXIT.OK) code = EXIT.NOT_READY;
          ctx.out.note(`gpufleet: ${result.message}`);
          outcomes.set(id, { status: 'running', endpoints: null, readyAt: null });
        } else {
          printReady(ctx, result, prefix);
          outcomes.set(id, { status: 'running', endpoints: result.endpoints, readyAt: result.readyAt });
        }
      }),
    );
  } finally {
    ctx.out.progress.done();
  }
  return { code, outcomes };
}

async function runWaiting(ctx: CliContext, id: string, timeoutMs: number | undefined): Promise<number> {
  ctx.out.progress.update(`waiting for the service of ${id}`);
  const result = await waitReady(ctx, id, timeoutMs).finally(() => ctx.out.progress.done());
  if (result instanceof TaskEndedError) throw result;
  if (result instanceof WaitTimeoutError) {
    ctx.out.error(result);
    return EXIT.NOT_READY;
  }
  if (ctx.out.json) ctx.out.document(readyDocument(result));
  else printReady(ctx, result);
  return EXIT.OK;
}

export async function runEndpoints(ctx: CliContext, id: string, flags: EndpointsFlags): Promise<number> {
  if (flags.timeout !== undefined && !flags.wait)
    throw new UsageError('--timeout is how long --wait waits: give --wait too');
  if (flags.wait) return runWaiting(ctx, id, flags.timeout);
  const task = await ctx.client.getTask(id, { signal: ctx.signal });
  const service = task.service;
  const endpoints = service?.state === 'ready' ? service.endpoints : null;
  const document: EndpointsDocument = {
    taskId: task.id,
    status: task.status,
    state: service?.state ?? null,
    endpoints,
    readyAt: service?.readyAt ?? null,
    reason: service?.reason ?? (isFinalStatus(task.status) ? task.error : null),
  };
  if (ctx.out.json) ctx.out.document(document);
  if (endpoints !== null && service !== null) {
    if (!ctx.out.json) {
      for (const line of endpointLines(endpoints)) ctx.out.line(line);
      ctx.out.note(
        `${serviceState(service)} on ${task.tracker ?? 'its tracker'}, ${restartsText(service.restarts)}`,
      );
    }
    return EXIT.OK;
  }
  if (isFinalStatus(task.status)) {
    const stopped = task.serviceStopped ? ` (${task.serviceStopped})` : '';
    ctx.out.note(`gpufleet: task ${id} ended, it has no endpoints: ${outcome(task)}${stopped}`);
    return EXIT.FAILED;
  }
  const state =
    service !== null
      ? `its service is ${serviceState(service)}`
      : task.status === 'running'
        ? 'it is running, no service state yet (an executer without a service block has none)'
        : `it is ${task.status}${task.waitReason ? ` (${task.waitReason})` : ''}`;
  ctx.out.note(`gpufleet: task ${id} is not ready: ${state}`);
  return EXIT.NOT_READY;
}

export function endpointsCommand(program: Command, run: CommandRunner): void {
  program
    .command('endpoints')
    .description(
      "print a service task's endpoints (name  host:port); exit 5 while it is not ready, 1 once it ended",
    )
    .argument('<id>', 'task id')
    .option('-w, --wait', 'wait until its service is ready (exit 1 if the task ends first)')
    .option(
      '--timeout <duration>',
      'with --wait: wait at most this long (then exit 5)',
      durationArg('--timeout'),
    )
    .action(run((ctx, id: string, flags: EndpointsFlags) => runEndpoints(ctx, id, flags)));
}
