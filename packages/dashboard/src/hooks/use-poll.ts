/**
 * Reads something now and again every `everyMs` while the page is visible: a hidden tab asks the
 * API nothing, one that comes back reads at once. A failure keeps the last answer, says why
 * (`error`), and waits longer before the next try (doubling, at most 30 s), so a dashboard left
 * open on a struggling API does not add to its load. One read at a time; aborted on unmount.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

const MAX_BACKOFF_MS = 30_000;

export interface Poll<T> {
  data: T | null;
  error: string | null;
  /** Reads again now (after a change the page made). */
  refresh: () => void;
}

export function usePoll<T>(
  load: (signal: AbortSignal) => Promise<T>,
  everyMs: number,
  deps: unknown[] = [],
): Poll<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const kick = useRef<() => void>(() => undefined);

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let running = false;
    const schedule = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => void run(), ms);
    };
    const run = async (): Promise<void> => {
      if (abort.signal.aborted || running) return;
      if (document.visibilityState === 'hidden') return; // visibilitychange resumes it
      running = true;
      try {
        const value = await load(abort.signal);
        if (abort.signal.aborted) return;
        failures = 0;
        setData(value);
        setError(null);
      } catch (caught) {
        if (abort.signal.aborted) return;
        failures++;
        setError(caught instanceof Error ? caught.message : String(caught));
      } finally {
        running = false;
      }
      schedule(failures === 0 ? everyMs : Math.min(MAX_BACKOFF_MS, everyMs * 2 ** failures));
    };
    const visible = (): void => {
      if (document.visibilityState === 'visible') void run();
    };
    kick.current = () => void run();
    document.addEventListener('visibilitychange', visible);
    void run();
    return () => {
      abort.abort();
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', visible);
    };
  }, [everyMs, ...deps]);

  const refresh = useCallback(() => kick.current(), []);
  return { data, error, refresh };
}
