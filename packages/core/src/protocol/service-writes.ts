/**
 * A running service's state changes (lua/set-service.lua, service-state.ts): fenced by the
 * attempt's lease token, each one an event in the queue's events stream.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { runScript } from '../run-script.js';
import type { ServiceEndpoints, ServiceState } from '../service-state.js';
import { argvHead } from './argv-head.js';
import type { Claim } from './claims.js';

export interface ServiceChange {
  state: ServiceState;
  /** For `ready`: port name → host:port. */
  endpoints?: ServiceEndpoints;
  /** Why it waits or restarts. */
  reason?: string;
  restarts: number;
}

/** Writes the service's new state; false when the attempt is lost or the task not running (nothing written). */
export async function setServiceState(
  redis: Redis,
  keys: QueueKeys,
  claim: Claim,
  now: number,
  change: ServiceChange,
): Promise<boolean> {
  const endpoints = change.state === 'ready' && change.endpoints ? JSON.stringify(change.endpoints) : '';
  const reply = await runScript(redis, 'set-service', [keys.task(claim.taskId), keys.events], argvHead(now), [
    claim.token,
    change.state,
    endpoints,
    change.reason ?? '',
    String(change.restarts),
  ]);
  return reply === 1;
}
