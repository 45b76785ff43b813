-- Requeues a task whose tracker stopped running it: its tracker was found dead (its liveness key
-- expired), or its lease lapsed. The task goes into the requeued stream of its GPU count, before
-- every waiting task, so whichever tracker frees the slots first takes it; no tracker claims it
-- here, so none takes more than it can start. Each tracker's sweep calls this whether it has free
-- slots or not (under a backlog none has).
-- Guards, all in this one step: the entry must still be pending for `holder` and idle at least
-- ARGV[4] ms (no renewal since); with KEYS[7], the holder's liveness key must still be missing
-- (a tracker that came back keeps its tasks) and a live lease is dropped only if it is that
-- tracker's own; without KEYS[7] (a lapsed lease), any live lease means the task is held.
-- KEYS[1] the task stream holding the entry   KEYS[2] task hash   KEYS[3] the requeued stream of
--         the entry's GPU count   KEYS[4] lease key   KEYS[5] events stream
-- KEYS[6] last-entry (the entry id sequence)   KEYS[7] (optional) the holder's liveness key
-- ARGV[1] group   ARGV[2] holder (consumer name)   ARGV[3] entry id   ARGV[4] min idle (ms)
-- ARGV[5] now (ms)   ARGV[6] events max length
-- ARGV[7] '1' when the task was the only one its dead tracker held   ARGV[8] reason
-- Returns 'requeued' (a running task, its attempt abandoned) | 'returned' (delivered, never
--         claimed) | 'gone' (ended or superseded: entry removed) | 'held' (nothing changed)
-- @include lib-common
local alive = KEYS[7]
if alive and redis.call('EXISTS', alive) == 1 then return 'held' end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[4], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 'held' end
local f = redis.call('HMGET', KEYS[2], 'status', 'entry', 'tracker', 'leaseToken', 'id')
if (not f[1]) or FINAL[f[1]] or f[2] ~= ARGV[3] then
  removeEntry(KEYS[1], ARGV[1], ARGV[3])
  return 'gone'
end
local lease = redis.call('GET', KEYS[4])
if lease then
  if not alive or f[3] ~= ARGV[2] or f[4] ~= lease then return 'held' end
  redis.call('DEL', KEYS[4])
end
local Q = { events = KEYS[5], eventsMax = ARGV[6], lastEntry = KEYS[6] }
if f[1] == 'queued' then
  returnUnclaimed(Q, KEYS[2], f[5], KEYS[1], ARGV[1], ARGV[3], KEYS[3])
  return 'returned'
end
requeueOrphan(Q, KEYS[2], KEYS[4], ARGV[1], ARGV[5], ARGV[8], ARGV[7], KEYS[3])
return 'requeued'
