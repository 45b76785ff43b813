/**
 * The tracker settings for services (executers with a `service` block): the range of host ports
 * it gives them (GPUFLEET_PORT_RANGE) and the host it publishes their endpoints under
 * (GPUFLEET_ADVERTISE_HOST). Read by loadTrackerConfig; each bad value is refused at start,
 * naming the variable and why.
 */
import { hostname } from 'node:os';
import type { Env, EnvReader } from '@gpufleet/core';

/** Host ports from `low` to `high`, both included. */
export interface PortRange {
  low: number;
  high: number;
}

export const DEFAULT_PORT_RANGE: Readonly<PortRange> = Object.freeze({ low: 20_000, high: 20_999 });
/** Ports below 1024 need privileges on most hosts; a service gets none of them. */
export const MIN_SERVICE_PORT = 1024;
export const MAX_SERVICE_PORT = 65_535;

/** Why `text` is not a port range, or the range. */
export function parsePortRange(text: string): PortRange | string {
  const match = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(text.trim());
  if (!match) return 'must be two port numbers LOW-HIGH, such as 20000-20999';
  const low = Number(match[1]);
  const high = Number(match[2]);
  for (const port of [low, high]) {
    if (port < MIN_SERVICE_PORT || port > MAX_SERVICE_PORT)
      return `must hold ports from ${MIN_SERVICE_PORT} to ${MAX_SERVICE_PORT} (${port} is not)`;
  }
  if (low > high) return `must give the low port first (${low} is above ${high})`;
  return { low, high };
}

/** GPUFLEET_PORT_RANGE, DEFAULT_PORT_RANGE when unset. */
export function readPortRange(r: EnvReader): PortRange {
  const text = r.raw('GPUFLEET_PORT_RANGE');
  if (text === undefined) return { ...DEFAULT_PORT_RANGE };
  const range = parsePortRange(text);
  if (typeof range !== 'string') return range;
  r.fail('GPUFLEET_PORT_RANGE', `${range} (got ${JSON.stringify(text)})`);
  return { ...DEFAULT_PORT_RANGE };
}

/** Why a value of GPUFLEET_ADVERTISE_HOST is not a host name or address; null when it is one. */
export function advertiseHostProblem(value: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    return 'must be a host name or address without a scheme (no http:// or tcp://)';
  if (/\s/.test(value)) return 'must not contain spaces';
  if (value.includes('/')) return 'must be a host name or address, without a path';
  return null;
}

/**
 * GPUFLEET_ADVERTISE_HOST, `fallback` (the host name) when unset. Set but empty is refused rather
 * than taken for unset: an endpoint published as ":20001" would reach nothing.
 */
export function readAdvertiseHost(r: EnvReader, env: Env, fallback = hostname()): string {
  const given = env['GPUFLEET_ADVERTISE_HOST'];
  if (given !== undefined && given.trim() === '') {
    r.fail('GPUFLEET_ADVERTISE_HOST', 'must not be empty (unset it to advertise the host name)');
    return fallback;
  }
  return r.string('GPUFLEET_ADVERTISE_HOST', fallback, advertiseHostProblem);
}
