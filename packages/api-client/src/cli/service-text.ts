/**
 * A service task's state for people (an executer with a `service` block): its endpoints one per
 * line (`control  gpu-node-7:20001`), its state with its uptime (`ready for 2m`, `restarting: exit
 * 7`), the compact SERVICE cell of `ls` and the rows of `status`.
 */
import type { TaskSummary, TaskView } from '../generated/api-types.js';
import type { ServiceView } from '../task/stream-events.js';
import { formatDuration, formatTime } from './format.js';

/** The widest SERVICE cell of `ls`: a longer one is cut, marked with `…`. */
const SERVICE_CELL_CHARS = 48;

/** How long it has been ready (`2m`), from its `readyAt`; `-` when unknown. */
export function uptime(readyAt: string | null, now = Date.now()): string {
  if (readyAt === null) return '-';
  return formatDuration(Math.max(0, now - Date.parse(readyAt)));
}

/** `name  host:port`, one line per endpoint, the names padded to one width, in name order. */
export function endpointLines(endpoints: Readonly<Record<string, string>>): string[] {
  const names = Object.keys(endpoints).sort();
  const width = Math.max(0, ...names.map((n) => n.length));
  return names.map((name) => `${name.padEnd(width)}  ${endpoints[name]}`);
}

/** `ready for 2m`, `starting`, `restarting: exited with code 7`, `waiting-for-port: ...`. */
export function serviceState(service: ServiceView, now = Date.now()): string {
  if (service.state === 'ready') return `ready for ${uptime(service.readyAt, now)}`;
  return `${service.state}${service.reason ? `: ${service.reason}` : ''}`;
}

/** `1 restart`, `2 restarts`. */
export function restartsText(restarts: number): string {
  return restarts === 1 ? '1 restart' : `${restarts} restarts`;
}

/**
 * `ls`: `ready 2m control=host:20001 +1` (its first endpoint by name, and how many more: `gpufleet
 * endpoints` prints them all), `starting`...; `-` for other tasks.
 */
export function serviceCell(t: TaskSummary, now = Date.now()): string {
  const service = t.service;
  if (service === null) return '-';
  if (service.state !== 'ready') return service.state;
  const [first, ...more] = Object.keys(service.endpoints ?? {}).sort();
  const endpoint = first === undefined ? '' : `${first}=${service.endpoints?.[first]}`;
  const text =
    `ready ${uptime(service.readyAt, now)} ${endpoint}${more.length > 0 ? ` +${more.length}` : ''}`.trimEnd();
  return text.length <= SERVICE_CELL_CHARS ? text : `${text.slice(0, SERVICE_CELL_CHARS - 1)}…`;
}

/** `status`: the service's state, restarts and endpoints while it runs, and why its lifetime ended it. */
export function serviceRows(t: TaskView, now = Date.now()): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  const service = t.service;
  if (service !== null) {
    const since = service.state === 'ready' ? ` (since ${formatTime(service.readyAt)})` : '';
    rows.push(['service', `${serviceState(service, now)}${since}, ${restartsText(service.restarts)}`]);
    const endpoints = service.endpoints ?? {};
    const names = Object.keys(endpoints).sort();
    if (names.length > 0) rows.push(['endpoints', names.map((n) => `${n}=${endpoints[n]}`).join(', ')]);
  }
  if (t.serviceStopped !== null) rows.push(['service stopped', t.serviceStopped]);
  return rows;
}

/** `ls`: a SERVICE column (serviceCell) after STATUS, only when a listed task runs a service. */
export function withServiceColumn(
  headers: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  items: readonly TaskSummary[],
): { headers: string[]; rows: string[][] } {
  const at = headers.indexOf('STATUS') + 1;
  const insert = <T>(list: readonly T[], item: T): T[] => [...list.slice(0, at), item, ...list.slice(at)];
  if (at === 0 || items.every((t) => t.service === null))
    return { headers: [...headers], rows: rows.map((r) => [...r]) };
  const now = Date.now();
  return {
    headers: insert(headers, 'SERVICE'),
    rows: rows.map((row, i) => insert(row, items[i] ? serviceCell(items[i], now) : '-')),
  };
}
