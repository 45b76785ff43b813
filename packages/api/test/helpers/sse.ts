/**
 * Reading Server-Sent Events in tests: from a whole body (`parseSse`) or live from a fetch
 * response (`SseReader.next()`), so a test can act between events.
 */
export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
}

function parseBlock(block: string): SseEvent | null {
  let event = 'message';
  let id: string | null = null;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'id') id = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? null : { event, id, data: data.join('\n') };
}

export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .map(parseBlock)
    .filter((e): e is SseEvent => e !== null);
}

export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = '';
  readonly seen: SseEvent[] = [];

  constructor(response: Response) {
    if (!response.body) throw new Error('the response has no body');
    this.#reader = response.body.getReader();
  }

  /** The next event, or null when the stream ended. */
  async next(): Promise<SseEvent | null> {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const event = parseBlock(block);
        if (event) {
          this.seen.push(event);
          return event;
        }
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Reads until an event matches (returned) or the stream ends (throws). */
  async until(match: (event: SseEvent) => boolean): Promise<SseEvent> {
    for (;;) {
      const event = await this.next();
      if (event === null) throw new Error(`the stream ended first; seen: ${JSON.stringify(this.seen)}`);
      if (match(event)) return event;
    }
  }

  /** Reads to the end; the events read on the way. */
  async rest(): Promise<SseEvent[]> {
    const events: SseEvent[] = [];
    for (let e = await this.next(); e !== null; e = await this.next()) events.push(e);
    return events;
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}
