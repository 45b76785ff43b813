/** Keeps the last `maxBytes` of a byte stream, to report the last lines of a task's stderr. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes = 8192) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.maxBytes) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  /** The last `lines` complete or partial lines, as text. */
  lastLines(lines = 20): string {
    const text = Buffer.concat(this.chunks).subarray(-this.maxBytes).toString('utf8');
    return text.replace(/\n$/, '').split('\n').slice(-lines).join('\n');
  }
}
