-- Settles one entry left pending for this consumer name by a previous life of the tracker (it
-- crashed or was killed): an entry whose task ended or moved on is removed; a task the previous
-- life was running is queued again at once, marked suspect (its attempt counts: a task that keeps
-- killing its tracker ends dead after maxAttempts); a task another tracker holds now is left alone.
-- KEYS[1] task hash
-- ARGV[1] key base   ARGV[2] group   ARGV[3] stream   ARGV[4] entry id   ARGV[5] consumer
-- ARGV[6] now (ms)   ARGV[7] events max length
-- Returns 'removed' | 'requeued' | 'left'
-- @include lib-common
local f = redis.call('HMGET', KEYS[1], 'status', 'entry', 'tracker', 'id')
if (not f[1]) or FINAL[f[1]] or f[2] ~= ARGV[4] then
  removeEntry(ARGV[3], ARGV[2], ARGV[4])
  return 'removed'
end
if f[1] == 'queued' then
  -- Delivered to the previous life but never claimed: any tracker may read it again.
  redis.call('XACK', ARGV[3], ARGV[2], ARGV[4])
  redis.call('XDEL', ARGV[3], ARGV[4])
  redis.call('HSET', KEYS[1], 'entry', redis.call('XADD', ARGV[3], nextEntryId(ARGV[1]), 'id', f[4]))
  return 'requeued'
end
if f[3] ~= ARGV[5] then return 'left' end
-- Any task running when a tracker crashed is a suspect: it runs alone next time, so a task that
-- kills its tracker does not take the tasks beside it down with it again.
redis.call('HSET', KEYS[1], 'suspect', '1')
requeueTask(ARGV[1], ARGV[7], KEYS[1], ARGV[2], ARGV[6], 'the tracker running it stopped unexpectedly', false, 0)
return 'requeued'
