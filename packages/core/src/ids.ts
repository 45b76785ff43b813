import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Random bytes from a pool filled 4 KiB at a time: each randomBytes() call enters the system's
 * generator, ~20 µs on the bench VM, and a task takes three (id, two lease tokens).
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** Takes `n` bytes from the pool: where they start in `pool` (valid until the next take). */
function takeRandom(n: number): number {
  if (poolOffset + n > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += n;
  return poolOffset - n;
}

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** A task id's 16 bytes, assembled here: no buffer is allocated per id. */
const idBytes = Buffer.alloc(16);

/**
 * A new task id: 48 bits of milliseconds (so ids sort by creation) and 80 random bits (so ids
 * cannot be guessed), 26 lowercase Crockford base32 characters.
 */
export function newTaskId(nowMs: number = Date.now()): string {
  idBytes.writeUIntBE(Math.max(0, Math.floor(nowMs)), 0, 6);
  const at = takeRandom(10);
  pool.copy(idBytes, 6, at, at + 10);
  return base32(idBytes);
}

export const TASK_ID_PATTERN = '^[0-9a-hjkmnp-tv-z]{26}$';

/** A random token (lease fencing tokens, tracker instance ids). */
export function newToken(): string {
  const at = takeRandom(16);
  return pool.toString('base64url', at, at + 16);
}
