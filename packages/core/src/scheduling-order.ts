/**
 * The order in which a queue's waiting tasks are taken: the one definition that `lua/take.lua`
 * (through `lua/lib-order.lua`, whose kind ranks are generated from `WAITING_KINDS` here when the
 * scripts load) and the API's queue positions both follow; `test/scheduling-order.test.ts` checks
 * that they agree, task by task, on a mixed queue.
 *
 * A waiting task is an entry of a requeued stream (its attempt ended without a verdict: it was
 * taken before everything still waiting) or of a task stream. Requeued entries go first; within
 * a kind, the older entry (entry ids are ordered queue-wide). A tracker takes strictly in this
 * order: when the first task does not fit its free slots, it waits rather than take a later one.
 */
import { compareEntryIds } from './stream-entries.js';

/** The kinds of waiting entries, first taken first. */
export const WAITING_KINDS = ['requeued', 'waiting'] as const;
export type WaitingKind = (typeof WAITING_KINDS)[number];

export interface WaitingEntry {
  kind: WaitingKind;
  /** The stream entry id (queue-wide order). */
  entryId: string;
}

/** <0 when `a` is taken before `b`, >0 when after, 0 for the same entry. */
export function compareWaiting(a: WaitingEntry, b: WaitingEntry): number {
  const byKind = WAITING_KINDS.indexOf(a.kind) - WAITING_KINDS.indexOf(b.kind);
  return byKind !== 0 ? byKind : compareEntryIds(a.entryId, b.entryId);
}

/** `WAITING_KINDS` as a Lua table of kind → rank, for lib-order.lua. */
export function waitingKindsLua(): string {
  return `local WAITING_RANK = { ${WAITING_KINDS.map((kind, i) => `['${kind}'] = ${i}`).join(', ')} }`;
}
