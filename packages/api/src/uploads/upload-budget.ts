/**
 * The byte budget of one request's uploads: every input file streams through `meter()`, which
 * fails the stream once the request's files together pass the limit, so an oversize upload stops
 * while it streams instead of after it was stored.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { ApiError } from '../errors.js';

export class UploadBudget {
  #used = 0;
  #exceeded = false;

  constructor(readonly maxBytes: number) {}

  get used(): number {
    return this.#used;
  }

  get exceeded(): boolean {
    return this.#exceeded;
  }

  tooLarge(): ApiError {
    return payloadTooLarge(this.maxBytes);
  }

  /** A pass-through that counts bytes against the budget and errors when it is spent. */
  meter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        this.#used += chunk.length;
        if (this.#used > this.maxBytes) {
          this.#exceeded = true;
          callback(this.tooLarge());
        } else callback(null, chunk);
      },
    });
  }
}

export function payloadTooLarge(maxBytes: number): ApiError {
  return new ApiError('PAYLOAD_TOO_LARGE', `the request body is larger than ${maxBytes} bytes`, {
    details: { maxBytes },
    // The rest of the body is not read: the connection cannot be reused.
    headers: { connection: 'close' },
  });
}
