-- Requeues a task whose tracker stopped running it: its tracker was found dead (its liveness key
-- expired), or its lease lapsed. The task goes into the requeued stream of its GPU count, before
-- every waiting task, so whichever tracker frees the slots first takes it; no tracker claims it
-- here, so none takes more than it can start. Each tracker's sweep calls this whether it has free
-- slots or not (under a backlog none has).
-- Guards, all in this one step: the entry must still be pending for `holder` and idle at least
-- ARGV[4] ms (no renewal since); with KEYS[4], the holder's liveness key must still be missing
-- (a tracker that came back keeps its tasks) and a live lease is dropped only if it is that
-- tracker's own; without KEYS[4] (a lapsed lease), any live lease means the task is held.
-- KEYS[1] the task stream holding the entry   KEYS[2] task hash   KEYS[3] the requeued stream of
--         the entry's GPU count   KEYS[4] (optional) the holder's liveness key
-- ARGV[1] group   ARGV[2] holder (consumer name)   ARGV[3] entry id   ARGV[4] min idle (ms)
-- ARGV[5] key base   ARGV[6] now (ms)   ARGV[7] events max length
-- ARGV[8] '1' when the task was the only one its dead tracker held   ARGV[9] reason
-- Returns 'requeued' (a running task, its attempt abandoned) | 'returned' (delivered, never
--         claimed) | 'gone' (ended or superseded: entry removed) | 'held' (nothing changed)
-- @include lib-common
if KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then return 'held' end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[4], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 'held' end
local f = redis.call('HMGET', KEYS[2], 'status', 'entry', 'tracker', 'leaseToken', 'id')
if (not f[1]) or FINAL[f[1]] or f[2] ~= ARGV[3] then
  removeEntry(KEYS[1], ARGV[1], ARGV[3])
  return 'gone'
end
local lease = redis.call('GET', KEYS[2] .. ':lease')
if lease then
  if not KEYS[4] or f[3] ~= ARGV[2] or f[4] ~= lease then return 'held' end
  redis.call('DEL', KEYS[2] .. ':lease')
end
if f[1] == 'queued' then
  returnUnclaimed(ARGV[5], KEYS[2], f[5], KEYS[1], ARGV[1], ARGV[3], KEYS[3])
  return 'returned'
end
requeueOrphan(ARGV[5], ARGV[7], KEYS[2], ARGV[1], ARGV[6], ARGV[9], ARGV[8], KEYS[3])
return 'requeued'
