/**
 * A one-line spinner or progress bar for long work, drawn on stderr only when a person watches:
 * stdout and stderr are both terminals and the output is not JSON. Otherwise every call is a
 * no-op, so piped output never holds a carriage return or an escape sequence.
 */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 100;

export interface TerminalStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class ProgressLine {
  #text = '';
  #frame = 0;
  #timer: NodeJS.Timeout | null = null;
  #shown = false;

  constructor(
    private readonly stream: TerminalStream,
    readonly enabled: boolean,
  ) {}

  /** Shows `text` (after a spinner frame) until the next update, clear() or done(). */
  update(text: string): void {
    if (!this.enabled) return;
    this.#text = text;
    this.#timer ??= setInterval(() => {
      this.#frame = (this.#frame + 1) % FRAMES.length;
      this.render();
    }, FRAME_MS).unref();
    this.render();
  }

  render(): void {
    if (!this.enabled || this.#text === '') return;
    const width = Math.max(10, (this.stream.columns || 80) - 1);
    const line = `${FRAMES[this.#frame]} ${this.#text}`;
    this.stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
    this.#shown = true;
  }

  /** Erases the line (before other output is written); the next update draws it again. */
  clear(): void {
    if (this.#shown) this.stream.write('\r\x1b[2K');
    this.#shown = false;
  }

  /** Stops and erases it. */
  done(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.clear();
    this.#text = '';
  }
}

export function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
