/**
 * The head of every Lua script's ARGV, the same three entries in the same places for every script
 * in lua/ (one that does not use an entry still gets it); a script's own ARGV follow from ARGV[4]:
 *
 *   ARGV[1] the trackers' consumer group   ARGV[2] now (ms; '' where the caller has no time to
 *   give: renew, and take sent behind a blocking read; a script then uses Redis's clock)
 *   ARGV[3] the events stream's max length
 *
 * `runScript` takes it apart from the script's own ARGV, so no call can leave it out.
 */
import { TRACKER_GROUP } from '../keys.js';

/** The approximate max length the scripts trim the events stream to. */
export const EVENTS_MAX_LEN = 100_000;

/** ARGV[1..3] of every script: group, now (ms), events max length. */
export type ArgvHead = readonly [group: string, now: string, eventsMaxLen: string];

/** The ARGV head for a call made at `now` (ms); null where the script takes no time from its caller. */
export function argvHead(now: number | null): ArgvHead {
  return [TRACKER_GROUP, now === null ? '' : String(now), String(EVENTS_MAX_LEN)];
}
