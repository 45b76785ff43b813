/**
 * Opens an SSE route and keeps it going: when the connection drops, or the API ends the stream
 * with a resumable `error` event (CLIENT_TOO_SLOW, REDIS_UNAVAILABLE), it reconnects within the
 * client's retry budget, renewed after every message, passing the last event id as
 * `Last-Event-ID`. `handle` returns true once the stream is complete.
 */
import { ApiUnreachableError, StreamError } from '../errors.js';
import type { HttpClient, QueryValue } from '../http/http-client.js';
import { readSse, type SseMessage } from '../http/sse-stream.js';

const RESUMABLE = new Set(['CLIENT_TOO_SLOW', 'REDIS_UNAVAILABLE', 'ARTIFACT_STORE_UNAVAILABLE']);

export interface ResumableStreamOptions {
  query?: Record<string, QueryValue>;
  /** Start after this event id. */
  from?: string | null;
  signal?: AbortSignal;
}

class Resume extends Error {}

/** Yields each message but `error` ones until `isLast(message)` is true for a yielded message. */
export async function* resumableStream(
  http: HttpClient,
  path: string,
  isLast: (message: SseMessage) => boolean,
  options: ResumableStreamOptions = {},
): AsyncGenerator<SseMessage> {
  let cursor = options.from ?? null;
  let budget = http.newBudget();
  for (;;) {
    const response = await http.request(path, {
      query: options.query,
      headers: { accept: 'text/event-stream', ...(cursor ? { 'last-event-id': cursor } : {}) },
      signal: options.signal,
      budget,
    });
    let lost: unknown = new Error('the stream ended before the task did');
    try {
      if (!response.body) throw new Error('the answer has no body');
      for await (const message of readSse(response.body)) {
        budget = http.newBudget();
        if (message.event === 'error') {
          const { code, message: text } = JSON.parse(message.data) as { code: string; message: string };
          if (RESUMABLE.has(code)) throw new Resume(`${code}: ${text}`);
          throw new StreamError(code, text);
        }
        if (message.id !== null) cursor = message.id;
        yield message;
        if (isLast(message)) return;
      }
    } catch (error) {
      if (error instanceof StreamError || options.signal?.aborted) throw error;
      lost = error;
    }
    if (!(await budget.pause(null, options.signal))) throw new ApiUnreachableError(http.baseUrl, lost);
  }
}
