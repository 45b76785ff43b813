/**
 * A service's stdout as lines, for its readiness check (readiness.ts `LineSource`): the chunks the
 * tracker reads from the process's log file go in (`push`), whole lines come out as `line` events
 * (a trailing `\r` dropped), and `close` ends them. A line longer than MAX_LINE is cut there: the
 * check sees its start, and memory stays bounded whatever the process prints.
 */
import { EventEmitter } from 'node:events';

const MAX_LINE = 64 * 1024;

export class StdoutLines extends EventEmitter {
  #partial = '';
  #closed = false;

  push(chunk: Buffer): void {
    if (this.#closed) return;
    const lines = (this.#partial + chunk.toString('utf8')).split('\n');
    this.#partial = lines.pop() ?? '';
    if (this.#partial.length > MAX_LINE) {
      lines.push(this.#partial.slice(0, MAX_LINE));
      this.#partial = '';
    }
    for (const line of lines) this.emit('line', line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  close(): void {
    if (this.#closed) return;
    if (this.#partial !== '') this.emit('line', this.#partial);
    this.#partial = '';
    this.#closed = true;
    this.emit('close');
  }
}
