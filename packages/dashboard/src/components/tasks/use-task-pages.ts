/**
 * The task listing one page at a time, read again every 5 s while the tab is visible
 * (hooks/use-poll.ts). The API's cursors only go forward, so the cursor each page seen started at
 * is kept: Previous goes back to it. A short page is filled from the ones after it, a few reads at
 * most (the API looks at a bounded number of tasks per read, so a narrow filter can answer few or
 * none while more follow). The pages seen are forgotten when the view changes (`key`).
 */
import { useCallback, useRef, useState } from 'preact/hooks';
import type { GpufleetClient, ListTasksQuery, TaskList, TaskSummary } from '@gpufleet/api-client';
import { usePoll } from '../../hooks/use-poll.js';

const EVERY_MS = 5000;
/** Reads to fill one page, at most. */
const MAX_READS = 4;

export interface TaskPage {
  items: TaskSummary[];
  /** Where the next page starts; null at the end. */
  nextCursor: string | null;
  /** The view and cursor it was read for. */
  key: string;
  /** When it was read (ms since the epoch). */
  readAt: number;
}

export interface TaskPages {
  /** The page last read; it may be another view's while the new one loads (`stale`). */
  page: TaskPage | null;
  stale: boolean;
  /** Why the last read failed (the page shown is then the one before); null after a good read. */
  error: unknown;
  /** 1 for the newest tasks. */
  number: number;
  next: () => void;
  previous: () => void;
  newest: () => void;
  refresh: () => void;
}

/** One page of `query` from `cursor`, filled from the pages after it while it is short (a few reads at most). */
export async function readPage(
  client: GpufleetClient,
  query: ListTasksQuery,
  cursor: string | null,
  signal: AbortSignal,
): Promise<TaskList> {
  const limit = query.limit ?? 50;
  const items: TaskSummary[] = [];
  let next = cursor;
  for (let read = 0; read < MAX_READS; read++) {
    const page = await client.listTasks(
      { ...query, limit: limit - items.length, cursor: next ?? undefined },
      { signal },
    );
    items.push(...page.items);
    next = page.nextCursor;
    if (next === null || items.length >= limit) break;
  }
  return { items, nextCursor: next };
}

export function useTaskPages(client: GpufleetClient, query: ListTasksQuery, key: string): TaskPages {
  const [seen, setSeen] = useState<{ key: string; cursors: Array<string | null> }>({ key, cursors: [null] });
  const cursors = seen.key === key ? seen.cursors : [null];
  const cursor = cursors[cursors.length - 1] ?? null;
  const pageKey = `${key}#${cursor ?? ''}`;
  const failure = useRef<unknown>(null);

  const poll = usePoll(
    async (signal) => {
      try {
        const page = await readPage(client, query, cursor, signal);
        failure.current = null;
        return { ...page, key: pageKey, readAt: Date.now() };
      } catch (error) {
        failure.current = error;
        throw error;
      }
    },
    EVERY_MS,
    [client, pageKey],
  );

  const page = poll.data;
  const next = useCallback(() => {
    if (page?.key === pageKey && page.nextCursor) setSeen({ key, cursors: [...cursors, page.nextCursor] });
  }, [page, pageKey, key, cursors]);
  const previous = useCallback(() => setSeen({ key, cursors: cursors.slice(0, -1) }), [key, cursors]);
  const newest = useCallback(() => setSeen({ key, cursors: [null] }), [key]);

  return {
    page,
    stale: page !== null && page.key !== pageKey,
    error: poll.error === null ? null : (failure.current ?? new Error(poll.error)),
    number: cursors.length,
    next,
    previous: cursors.length > 1 ? previous : newest,
    newest,
    refresh: poll.refresh,
  };
}
