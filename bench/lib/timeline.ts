/**
 * Cuts the spans of a one-slot run (tasks strictly one after another) into each task's phases:
 * take → spawned → exited → set-status uploading → puts → complete → next take. Background work
 * (folder removal, the `running` status, heartbeats) overlaps the next task and shows up only in
 * the per-operation table.
 */
import type { Span } from './instrument.js';
import { quantile } from './stats.js';

export const PHASES = [
  'take (Lua round trip)',
  'claimed → spawned: task folder, log files, spawn, pid record',
  'program runs: task-init + true, until exit seen',
  'exit → status uploading sent: pipes drained, live log closed',
  'set-status uploading (Lua round trip)',
  'outputs: list, put stdout+stderr+manifest (fsync)',
  'outputs done → complete sent',
  'complete (Lua round trip)',
  'complete → next take sent: slot freed, loop wakes',
] as const;

export interface Timeline {
  tasks: number;
  cycle: { p50: number; mean: number };
  phases: Array<{ phase: string; p50: number; mean: number; share: number }>;
  operations: Array<{ what: string; perTask: number; p50: number; msPerTask: number }>;
}

export function phasesOf(all: readonly Span[], skip: number): Timeline {
  const spans = [...all].sort((a, b) => a.start - b.start);
  const firstOf = (what: (s: Span) => boolean, from: number): number => {
    for (let i = Math.max(0, from); from >= 0 && i < spans.length; i++) if (what(spans[i] as Span)) return i;
    return -1;
  };
  const is = (name: string) => (s: Span) => s.what === name;
  const cycles: number[][] = [];
  let i = firstOf(is('lua take'), 0);
  while (i >= 0) {
    const take = spans[i] as Span;
    const spawned = firstOf(is('task spawned'), i);
    const exited = firstOf(is('task exited'), spawned);
    const uploading = firstOf(is('lua set-status uploading'), exited);
    const complete = firstOf(is('lua complete'), uploading);
    const next = firstOf(is('lua take'), complete);
    if ([spawned, exited, uploading, complete, next].some((x) => x < 0)) break;
    const at = (k: number): Span => spans[k] as Span;
    const putsEnd = Math.max(
      ...spans
        .slice(uploading, complete)
        .filter((s) => s.what.startsWith('store.put'))
        .map((s) => s.end),
      at(uploading).end,
    );
    cycles.push([
      take.end - take.start,
      at(spawned).start - take.end,
      at(exited).start - at(spawned).start,
      at(uploading).start - at(exited).start,
      at(uploading).end - at(uploading).start,
      putsEnd - at(uploading).end,
      at(complete).start - putsEnd,
      at(complete).end - at(complete).start,
      at(next).start - at(complete).end,
    ]);
    i = next;
  }
  const kept = cycles.slice(skip);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const totals = kept.map((c) => c.reduce((a, b) => a + b, 0));
  const cycleMean = mean(totals);
  const phases = PHASES.map((phase, p) => {
    const xs = kept.map((c) => c[p] ?? 0);
    return { phase, p50: quantile(xs, 0.5), mean: mean(xs), share: mean(xs) / cycleMean };
  });
  const byWhat = new Map<string, number[]>();
  for (const s of spans) {
    if (s.what.startsWith('task ')) continue;
    const list = byWhat.get(s.what) ?? [];
    list.push(s.end - s.start);
    byWhat.set(s.what, list);
  }
  const n = Math.max(1, cycles.length);
  const operations = [...byWhat]
    .map(([what, xs]) => ({
      what,
      perTask: xs.length / n,
      p50: quantile(xs, 0.5),
      msPerTask: xs.reduce((a, b) => a + b, 0) / n,
    }))
    .sort((a, b) => b.msPerTask - a.msPerTask);
  return { tasks: kept.length, cycle: { p50: quantile(totals, 0.5), mean: cycleMean }, phases, operations };
}
