/**
 * Whether a reader of a stream has lost entries: some entry after its cursor was removed before it
 * read it (the stream was trimmed past the cursor, an entry was deleted, or the whole stream is
 * gone). A reader that has lost entries must resync from elsewhere (a task's record, its output
 * files) rather than read on as if nothing were missing.
 *
 * How Redis 7.0 tells (XINFO STREAM, read by `xinfoStreamWindow`): `max-deleted-entry-id` is the
 * largest id XDEL removed, but trimming (XTRIM, XADD MAXLEN/MINID) leaves it alone, so it only
 * finds deletions. A trim removes the oldest entries: when `entries-added` is more than `length`,
 * every entry older than `first-entry` was removed (all of them when the stream is empty, up to
 * `last-generated-id`). A cursor older than the first entry held has then lost what lay between
 * the two. Redis does not record where a trim stopped, so a trim that stopped right after the
 * cursor (the reader had read every entry removed) looks the same and counts as lost: a needless
 * resync, never a silent gap. A reader that knows its position (how many entries had been added up
 * to its cursor: `entries-added` when its cursor was `last-generated-id`, plus what it read since)
 * is told exactly: it lost entries when more were removed than it had read.
 *
 * @example
 * if (entriesLostAfter(await xinfoStreamWindow(redis, key), cursor)) resync();
 */
import type { StreamWindow } from './redis-replies.js';
import { compareEntryIds, isEntryId } from './stream-entries.js';

/**
 * Whether entries added after `cursor` are no longer in the stream that `window` describes;
 * `position`, when known, is how many entries had been added up to the cursor.
 */
export function entriesLostAfter(
  window: StreamWindow,
  cursor: string,
  position: number | null = null,
): boolean {
  if (!isEntryId(cursor)) return false;
  // The stream is gone: whatever followed a cursor inside it cannot be read any more.
  if (!window.exists) return compareEntryIds(cursor, '0-0') > 0;
  if (compareEntryIds(window.maxDeletedId, cursor) > 0) return true;
  if (window.entriesAdded <= window.length) return false;
  // Trims remove the oldest entries: those removed are the first ones ever added.
  if (position !== null) return window.entriesAdded - window.length > position;
  if (window.firstId === null) return compareEntryIds(cursor, window.lastGeneratedId) < 0;
  return compareEntryIds(cursor, window.firstId) < 0;
}
