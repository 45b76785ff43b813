/**
 * Reads the tracker's control stream (cancel requests; an operator's drain and undrain) on its own
 * blocking connection, so a cancel reaches the tracker at once whatever the consumer loop is doing.
 * The lease renewal also reports a pending cancel, as a backup for a message missed across a Redis
 * restart (drains are read again at each heartbeat: drains.ts).
 */
import type { Redis } from 'ioredis';
import { loopUntilAborted, untilAborted, type Logger } from '@gpufleet/core';

export interface ControlMessage {
  cmd: string;
  taskId: string;
  /** All of the message's fields (a drain's `gpu`: drains.ts). */
  fields: ReadonlyMap<string, string>;
}

export class ControlReader {
  private readonly abort = new AbortController();
  private done: Promise<void> | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly onMessage: (message: ControlMessage) => void,
    private readonly logger: Logger,
    private readonly blockMs = 5000,
  ) {}

  start(): void {
    this.done ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.redis.disconnect();
    await this.done;
  }

  private async run(): Promise<void> {
    let lastId = '$';
    const step = async (): Promise<void> => {
      // A stop disconnects; ioredis then keeps a read queued while Redis is down, never failing it.
      const reply = await untilAborted(
        this.redis.xread('BLOCK', this.blockMs, 'STREAMS', this.key, lastId),
        this.abort.signal,
        null,
      );
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          lastId = id;
          const map = new Map<string, string>();
          for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] ?? '', fields[i + 1] ?? '');
          this.onMessage({ cmd: map.get('cmd') ?? '', taskId: map.get('id') ?? '', fields: map });
        }
      }
    };
    await loopUntilAborted(this.abort.signal, step, {
      baseMs: 100,
      maxMs: 2000,
      onFailure: (error, failures) => {
        if (failures === 1) this.logger.warn({ err: error }, 'control stream read failed; retrying');
      },
    });
  }
}
