/**
 * What the command writes. Results go to stdout: lines for a person, or with `--json` one JSON
 * document (`document`) or, for streams, one JSON object per line (`record`). Notes and the
 * progress line go to stderr and are left out with `--json`. Errors are `gpufleet: message` on
 * stderr, or with `--json` `{"error": {code, message, details}}` on stdout.
 */
import { ApiRequestError, ConfigFileError, GpufleetClientError } from '../errors.js';
import { ProgressLine, type TerminalStream } from './progress-line.js';

export interface OutputStreams {
  stdout: TerminalStream;
  stderr: TerminalStream;
}

export class Output {
  readonly progress: ProgressLine;

  constructor(
    readonly json: boolean,
    private readonly streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr },
  ) {
    const tty = Boolean(streams.stdout.isTTY && streams.stderr.isTTY);
    this.progress = new ProgressLine(streams.stderr, tty && !json);
  }

  #write(stream: TerminalStream, text: string): void {
    this.progress.clear();
    stream.write(text);
    this.progress.render();
  }

  /** A result line for a person (not in JSON mode). */
  line(text: string): void {
    if (!this.json) this.#write(this.streams.stdout, `${text}\n`);
  }

  /** Raw text to stdout or stderr (a task's output). */
  raw(stream: 'stdout' | 'stderr', text: string): void {
    this.#write(this.streams[stream], text);
  }

  /** A note for a person on stderr (not in JSON mode). */
  note(text: string): void {
    if (!this.json) this.#write(this.streams.stderr, `${text}\n`);
  }

  /** The one JSON document of a command. */
  document(value: unknown): void {
    this.#write(this.streams.stdout, `${JSON.stringify(value, null, 2)}\n`);
  }

  /** One record of a JSON stream (NDJSON). */
  record(value: unknown): void {
    this.#write(this.streams.stdout, `${JSON.stringify(value)}\n`);
  }

  error(error: unknown): void {
    this.progress.done();
    const code = error instanceof GpufleetClientError ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    const details: Record<string, unknown> =
      error instanceof ApiRequestError
        ? { ...error.details, status: error.status, requestId: error.requestId }
        : error instanceof ConfigFileError
          ? { file: error.file, issues: error.issues }
          : {};
    if (this.json) {
      this.streams.stdout.write(`${JSON.stringify({ error: { code, message, details } })}\n`);
      return;
    }
    const issues = error instanceof ApiRequestError ? error.issues : [];
    const lines = [`gpufleet: ${message}`, ...issues.map((i) => `  ${i.field}: ${i.reason}`)];
    if (!(error instanceof GpufleetClientError) && error instanceof Error && error.stack)
      lines.push(error.stack);
    this.streams.stderr.write(`${lines.join('\n')}\n`);
  }
}
