/**
 * The order in which a queue's waiting tasks are taken: the one definition that `lua/take.lua`
 * (through `lua/lib-order.lua`, whose kind ranks are generated from `WAITING_KINDS` here when the
 * scripts load) and the API's queue positions both follow; the API's
 * `test/scheduling-order.test.ts` checks that they agree, task by task, on a mixed queue.
 *
 * In order: the higher priority (task-priority.ts) first; within a priority, a requeued task (its
 * attempt ended without a verdict: it was taken before everything still waiting) before a waiting
 * one; then, between tenants, the tenant of the lower fair-share rank (fair-share.ts); then the
 * older entry (entry ids are ordered queue-wide). Priority orders across tenants: a team that
 * shares a fleet gives urgent work a higher priority whoever submits it, and fair share decides
 * between equals. A tracker takes strictly in this order among the tasks it may take (a tenant at
 * its running-GPU quota is passed over): when the first does not fit its free slots, it waits
 * rather than take a later one.
 */
import { compareEntryIds } from './stream-entries.js';

/** The kinds of waiting entries, first taken first. */
export const WAITING_KINDS = ['requeued', 'waiting'] as const;
export type WaitingKind = (typeof WAITING_KINDS)[number];

export interface WaitingEntry {
  kind: WaitingKind;
  /** The stream entry id (queue-wide order). */
  entryId: string;
  priority: number;
  tenant: string;
  /** The tenant's fair-share rank (fair-share.ts `TenantShare.rank`): lower goes first. */
  fairShareRank: number;
}

/** <0 when `a` is taken before `b`, >0 when after, 0 for the same entry. */
export function compareWaiting(a: WaitingEntry, b: WaitingEntry): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const byKind = WAITING_KINDS.indexOf(a.kind) - WAITING_KINDS.indexOf(b.kind);
  if (byKind !== 0) return byKind;
  if (a.tenant !== b.tenant && a.fairShareRank !== b.fairShareRank) return a.fairShareRank - b.fairShareRank;
  return compareEntryIds(a.entryId, b.entryId);
}

/** `WAITING_KINDS` as a Lua table of kind → rank, for lib-order.lua. */
export function waitingKindsLua(): string {
  return `local WAITING_RANK = { ${WAITING_KINDS.map((kind, i) => `['${kind}'] = ${i}`).join(', ')} }`;
}
