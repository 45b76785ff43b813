/**
 * Keeps Redis free of the function libraries of gpufleet versions no longer running. Each script
 * is a library named after its SHA (lua-library.ts), so every upgrade that changes a script adds
 * libraries, and years of upgrades would pile up code in Redis. Trackers say which libraries they
 * run (`announceFunctions`, every retention period, into the queue's `functionsSeen` hash); the
 * retention sweep's holder deletes a library of this code's naming that no process has announced
 * for `keepMs` (`pruneFunctions`). A process that still runs one after all (an API server, which
 * does not announce) loses nothing: its next call misses, loads the library back and runs.
 */
import type { Redis } from 'ioredis';
import { FUNCTION_NAME_PATTERN } from './lua-library.js';
import { listLibraries, message } from './run-script.js';
import { luaScript, SCRIPT_NAMES } from './scripts.js';

/** How long a library nobody announces stays: a week, longer than any rolling upgrade. */
export const FUNCTIONS_KEEP_MS = 7 * 24 * 3600_000;

/** Records that this process runs this version's libraries, as of `now`. */
export async function announceFunctions(redis: Redis, seenKey: string, now: number): Promise<void> {
  await redis.hset(seenKey, ...SCRIPT_NAMES.flatMap((name) => [luaScript(name).fn, String(now)]));
}

/** The libraries in Redis whose names this code makes (of any version). */
async function fleetLibraries(redis: Redis): Promise<string[]> {
  return (await listLibraries(redis)).filter((name) => FUNCTION_NAME_PATTERN.test(name));
}

/**
 * Deletes the fleet's libraries not announced for `keepMs` (one first seen unannounced starts its
 * clock now) and forgets the announcements of libraries gone for as long. Returns the names deleted.
 */
export async function pruneFunctions(
  redis: Redis,
  seenKey: string,
  now: number,
  keepMs = FUNCTIONS_KEEP_MS,
): Promise<string[]> {
  const loaded = await fleetLibraries(redis);
  const seen = await redis.hgetall(seenKey);
  const deleted: string[] = [];
  for (const name of loaded) {
    const at = Number(seen[name]);
    if (!Number.isFinite(at)) {
      await redis.hsetnx(seenKey, name, String(now));
      continue;
    }
    if (now - at < keepMs) continue;
    try {
      await redis.function('DELETE', name);
    } catch (error) {
      if (!/library not found/i.test(message(error))) throw error;
    }
    deleted.push(name);
  }
  // Announcements of libraries not in Redis (deleted, or not loaded yet) go once they are old.
  const gone = Object.entries(seen)
    .filter(
      ([name, at]) => deleted.includes(name) || (!loaded.includes(name) && !(now - Number(at) < keepMs)),
    )
    .map(([name]) => name);
  if (gone.length > 0) await redis.hdel(seenKey, ...gone);
  return deleted;
}
