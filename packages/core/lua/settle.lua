-- Settles one entry left pending for this consumer name by a previous life of the tracker (it
-- crashed or was killed): an entry whose task ended or moved on is removed; an entry delivered but
-- never claimed goes back first in line (the requeued stream); a task the previous life was running
-- is requeued there at once, before every waiting task (its attempt counts; see requeueOrphan for
-- when it becomes a suspect); a task another tracker holds now is left alone.
-- KEYS[1] task hash   KEYS[2] the requeued stream of the entry's GPU count   KEYS[3] the stream
--         holding the entry   KEYS[4] lease key   KEYS[5] events stream
-- KEYS[6] last-entry (the entry id sequence)   KEYS[7..13] the scheduling keys (lib-common.lua schedulingQ)
-- ARGV[1..3] the head (lib-common.lua): group, now (ms), events max length
-- ARGV[4] entry id   ARGV[5] consumer   ARGV[6] '1' when it was the only task that life ran
-- Returns 'removed' | 'requeued' | 'left'
-- @include lib-common
-- @include lib-requeue
local group, now, entryId = ARGV[1], ARGV[2], ARGV[4]
local Q = schedulingQ({ events = KEYS[5], eventsMax = ARGV[3], lastEntry = KEYS[6] }, 7)
local f = redis.call('HMGET', KEYS[1], 'status', 'entry', 'tracker', 'id', 'stream')
if (not f[1]) or FINAL[f[1]] or f[2] ~= entryId then
  removeEntry(KEYS[3], group, entryId)
  return 'removed'
end
checkStream(f[5], KEYS[3])
if f[1] == 'queued' then
  returnUnclaimed(Q, KEYS[1], f[4], KEYS[3], group, entryId, KEYS[2])
  return 'requeued'
end
if f[3] ~= ARGV[5] then return 'left' end
requeueOrphan(Q, KEYS[1], KEYS[4], KEYS[3], group, now, 'the tracker running it stopped unexpectedly', ARGV[6],
  KEYS[2])
return 'requeued'
