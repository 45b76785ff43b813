/**
 * Follows a task's stdout and stderr as they are written (`task.followLogs()`: the log so far,
 * then each chunk, then the end) into a LogBuffer of at most MAX_LINES lines, re-rendering at most
 * once per animation frame however fast chunks come. A connection the client could not resume
 * within its retry budget is opened again after a pause, from the last entry it had (`reconnecting`
 * meanwhile); a `resync` (the API lost the place) drops what was shown, as the whole log follows.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LogEnd } from '@gpufleet/api-client';
import { useSession } from '../../session.js';
import { LogBuffer } from './log-buffer.js';
import { pause, reconnectDelayMs } from './pause.js';

/** The most lines kept in the page. */
export const MAX_LINES = 5000;

export type LogState = 'connecting' | 'following' | 'reconnecting' | 'ended';

export interface LogFollow {
  buffer: LogBuffer;
  state: LogState;
  end: LogEnd | null;
  /** Why the log started again from its beginning, when it did. */
  resync: string | null;
  /** Changes on every render-worthy change (for effects that scroll). */
  version: number;
}

export function useLogFollow(taskId: string, enabled: boolean): LogFollow {
  const { client } = useSession();
  const buffer = useRef(new LogBuffer(MAX_LINES)).current;
  const [version, setVersion] = useState(0);
  const [state, setState] = useState<LogState>('connecting');
  const [end, setEnd] = useState<LogEnd | null>(null);
  const [resync, setResync] = useState<string | null>(null);

  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    let frame = 0;
    const render = (): void => {
      if (frame !== 0) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setVersion((v) => v + 1);
      });
    };
    const follow = async (): Promise<void> => {
      let from: string | null = null;
      for (let failures = 0; !abort.signal.aborted; failures++) {
        // A log without entry ids (an ended task's, from its output files) comes again whole.
        if (from === null && buffer.lines.length > 0) buffer.reset();
        try {
          for await (const item of client.task(taskId).followLogs({ from, signal: abort.signal })) {
            failures = 0;
            setState('following');
            if (item.type === 'log') {
              buffer.push(item.stream, item.text);
              if (item.id !== null) from = item.id;
            } else if (item.type === 'resync') {
              buffer.reset();
              setResync(item.reason);
            } else {
              buffer.flush();
              setEnd(item);
              setState('ended');
            }
            render();
          }
          return;
        } catch {
          if (abort.signal.aborted) return;
          setState('reconnecting');
          await pause(reconnectDelayMs(failures), abort.signal);
        }
      }
    };
    void follow();
    return () => {
      abort.abort();
      cancelAnimationFrame(frame);
    };
  }, [client, taskId, enabled, buffer]);

  return { buffer, state, end, resync, version };
}
