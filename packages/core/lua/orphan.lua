-- Requeues a task whose tracker stopped running it: its tracker was found dead (its liveness key
-- expired), or its lease lapsed. The task goes into the requeued stream of its GPU count, before
-- every waiting task, so whichever tracker frees the slots first takes it; no tracker claims it
-- here, so none takes more than it can start. Each tracker's sweep calls this whether it has free
-- slots or not (under a backlog none has).
-- Guards, all in this one step: the entry must still be pending for `holder` and idle at least
-- ARGV[6] ms (no renewal since); with KEYS[14], the holder's liveness key must still be missing
-- (a tracker that came back keeps its tasks) and a live lease is dropped only if it is that
-- tracker's own; without KEYS[14] (a lapsed lease), any live lease means the task is held.
-- KEYS[1] the task stream holding the entry   KEYS[2] task hash   KEYS[3] the requeued stream of
--         the entry's GPU count   KEYS[4] lease key   KEYS[5] events stream
-- KEYS[6] last-entry (the entry id sequence)   KEYS[7..13] the scheduling keys (lib-common.lua
--         schedulingQ)   KEYS[14] (optional) the holder's liveness key
-- ARGV[1..3] the head (lib-common.lua): group, now (ms), events max length
-- ARGV[4] holder (consumer name)   ARGV[5] entry id   ARGV[6] min idle (ms)
-- ARGV[7] '1' when the task was the only one its dead tracker held   ARGV[8] reason
-- Returns 'requeued' (a running task, its attempt abandoned) | 'returned' (delivered, never
--         claimed) | 'gone' (ended or superseded: entry removed) | 'held' (nothing changed)
-- @include lib-common
-- @include lib-requeue
local group, now, holder, entryId = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local alive = KEYS[14]
if alive and redis.call('EXISTS', alive) == 1 then return 'held' end
local p = redis.call('XPENDING', KEYS[1], group, 'IDLE', ARGV[6], entryId, entryId, 1)
if #p == 0 or p[1][2] ~= holder then return 'held' end
local f = redis.call('HMGET', KEYS[2], 'status', 'entry', 'tracker', 'leaseToken', 'id', 'stream')
if (not f[1]) or FINAL[f[1]] or f[2] ~= entryId then
  removeEntry(KEYS[1], group, entryId)
  return 'gone'
end
checkStream(f[6], KEYS[1])
local lease = redis.call('GET', KEYS[4])
if lease and (not alive or f[3] ~= holder or f[4] ~= lease) then return 'held' end
local Q = schedulingQ({ events = KEYS[5], eventsMax = ARGV[3], lastEntry = KEYS[6] }, 7)
if f[1] == 'queued' then
  if lease then redis.call('DEL', KEYS[4]) end
  returnUnclaimed(Q, KEYS[2], f[5], KEYS[1], group, entryId, KEYS[3])
  return 'returned'
end
-- requeueOrphan drops the lease (its holder's own, or none).
requeueOrphan(Q, KEYS[2], KEYS[4], KEYS[1], group, now, ARGV[8], ARGV[7], KEYS[3])
return 'requeued'
