/**
 * The time now, ticking every `everyMs` (a running task's "for 2 min so far" grows each second; an
 * ended task's page needs only its "3 min ago" kept roughly right, and renders far less often).
 */
import { useEffect, useState } from 'preact/hooks';

export function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
