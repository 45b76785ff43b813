/**
 * Opens an SSE route and keeps it going: when the connection drops, or the API ends the stream
 * with a resumable `error` event (CLIENT_TOO_SLOW, REDIS_UNAVAILABLE), it reconnects within the
 * client's retry budget, renewed after every message, passing the last event id as
 * `Last-Event-ID`. `handle` returns true once the stream is complete.
 *
 * A `resync` message (the API could not resume after the last event id: the stream was trimmed past
 * it, or is gone) is passed on like any other; what follows it starts over. The cursor stays until
 * a message with an id comes, so a reconnect before one asks again and gets `resync` again, never
 * a silent gap. A stream whose messages carry no ids (a finished task's log replayed from its
 * output files) cannot be resumed: with `replays`, a reconnect after some of them yields a
 * `resync` of its own first, since the API sends it all again.
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
  /** The stream is a log that a reconnect without an id replays from its start (see above). */
  replays?: boolean;
}

/** The `resync` yielded when a reconnect replays what was already yielded. */
const REPLAY_RESYNC: SseMessage = {
  event: 'resync',
  id: null,
  data: JSON.stringify({
    reason:
      'the connection dropped before the log had a place to resume from; it starts again from the beginning',
  }),
};

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
  /** Messages yielded while there was no cursor: a reconnect sends them again. */
  let replayed = 0;
  for (;;) {
    if (options.replays && cursor === null && replayed > 0) {
      replayed = 0;
      yield REPLAY_RESYNC;
    }
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
        else if (cursor === null) replayed++;
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
