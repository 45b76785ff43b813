/**
 * Splits log chunks into lines, per stream: a chunk may end inside a line, and stdout and stderr
 * interleave, so each stream keeps its own unfinished line until its end arrives or `flush()`.
 */
import type { LogLine, LogStreamName } from './stream-events.js';

export class LineSplitter {
  readonly #partial: Record<LogStreamName, string> = { stdout: '', stderr: '' };

  push(stream: LogStreamName, text: string): LogLine[] {
    const parts = (this.#partial[stream] + text).split('\n');
    this.#partial[stream] = parts.pop() ?? '';
    return parts.map((line) => ({ stream, text: line.endsWith('\r') ? line.slice(0, -1) : line }));
  }

  /** The unfinished lines (output that did not end with a newline). */
  flush(): LogLine[] {
    const lines: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream] !== '') lines.push({ stream, text: this.#partial[stream] });
      this.#partial[stream] = '';
    }
    return lines;
  }
}
