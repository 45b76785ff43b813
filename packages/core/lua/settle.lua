-- Settles one entry left pending for this consumer name by a previous life of the tracker (it
-- crashed or was killed): an entry whose task ended or moved on is removed; an entry delivered but
-- never claimed goes back first in line (the requeued stream); a task the previous life was running
-- is requeued there at once, before every waiting task (its attempt counts; see requeueOrphan for
-- when it becomes a suspect); a task another tracker holds now is left alone.
-- KEYS[1] task hash   KEYS[2] the requeued stream of the entry's GPU count
-- ARGV[1] key base   ARGV[2] group   ARGV[3] stream   ARGV[4] entry id   ARGV[5] consumer
-- ARGV[6] now (ms)   ARGV[7] events max length   ARGV[8] '1' when it was the only task that life ran
-- Returns 'removed' | 'requeued' | 'left'
-- @include lib-common
local f = redis.call('HMGET', KEYS[1], 'status', 'entry', 'tracker', 'id')
if (not f[1]) or FINAL[f[1]] or f[2] ~= ARGV[4] then
  removeEntry(ARGV[3], ARGV[2], ARGV[4])
  return 'removed'
end
if f[1] == 'queued' then
  returnUnclaimed(ARGV[1], KEYS[1], f[4], ARGV[3], ARGV[2], ARGV[4], KEYS[2])
  return 'requeued'
end
if f[3] ~= ARGV[5] then return 'left' end
requeueOrphan(ARGV[1], ARGV[7], KEYS[1], ARGV[2], ARGV[6], 'the tracker running it stopped unexpectedly', ARGV[8], KEYS[2])
return 'requeued'
