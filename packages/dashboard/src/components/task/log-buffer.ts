/**
 * The log lines a page keeps: chunks of stdout and stderr split into lines (each stream keeps its
 * unfinished line until its end arrives), at most `max` of them, the oldest dropped first and
 * counted, so a task that prints millions of lines costs the page no more than `max`. Each line
 * has a sequence number that stays its key while it is shown.
 */
import type { LogStreamName } from '@gpufleet/api-client';

export interface ShownLine {
  seq: number;
  stream: LogStreamName;
  text: string;
}

export class LogBuffer {
  lines: ShownLine[] = [];
  /** Lines dropped from the start to keep `max`. */
  dropped = 0;
  #seq = 0;
  #partial: Record<LogStreamName, string> = { stdout: '', stderr: '' };

  constructor(readonly max: number) {}

  /** Adds a chunk as the tracker published it. */
  push(stream: LogStreamName, text: string): void {
    const parts = (this.#partial[stream] + text).split('\n');
    this.#partial[stream] = parts.pop() ?? '';
    for (const part of parts) this.#add(stream, part);
    this.#trim();
  }

  /** The unfinished lines (output not ended by a newline yet), to show after the others. */
  pending(): ShownLine[] {
    return (['stdout', 'stderr'] as const)
      .filter((stream) => this.#partial[stream] !== '')
      .map((stream) => ({ seq: -1 - Number(stream === 'stderr'), stream, text: this.#partial[stream] }));
  }

  /** The log ended: its unfinished lines are lines. */
  flush(): void {
    for (const line of this.pending()) this.#add(line.stream, line.text);
    this.#partial = { stdout: '', stderr: '' };
    this.#trim();
  }

  /** Forgets everything (the log starts again from its beginning). */
  reset(): void {
    this.lines = [];
    this.dropped = 0;
    this.#partial = { stdout: '', stderr: '' };
  }

  #add(stream: LogStreamName, text: string): void {
    // A progress bar redrawn with carriage returns shows as its last drawing.
    const drawn = text.replace(/\r+$/, '');
    this.lines.push({ seq: this.#seq++, stream, text: drawn.slice(drawn.lastIndexOf('\r') + 1) });
  }

  #trim(): void {
    const over = this.lines.length - this.max;
    if (over <= 0) return;
    this.lines.splice(0, over);
    this.dropped += over;
  }
}
