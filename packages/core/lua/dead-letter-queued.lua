-- Dead-letters a task that is still waiting in its stream (for example: no live tracker of the
-- queue has enough GPUs for it). Does nothing if the task moved on meanwhile. Its stream is read
-- from the task hash by the caller first, declared in KEYS and checked here.
-- KEYS[1] task hash   KEYS[2] lease key   KEYS[3] events stream   KEYS[4] dead-letter stream
-- KEYS[5] the task's stream, as the caller read it from the task hash
-- KEYS[6..12] the scheduling keys (lib-common.lua schedulingQ)
-- ARGV[1..3] the head (lib-common.lua): group, now (ms), events max length
-- ARGV[4] entry id   ARGV[5] reason   ARGV[6] the failure code (src/task-failures.ts)
-- Returns 1 when dead-lettered, 0 when the task is no longer queued on that entry of that stream.
-- @include lib-common
-- @include lib-claim
local entryId = ARGV[4]
local f = redis.call('HMGET', KEYS[1], 'status', 'entry', 'stream', 'id', 'attempt')
if f[1] ~= 'queued' or f[2] ~= entryId or f[3] ~= KEYS[5] then return 0 end
local Q = schedulingQ({ events = KEYS[3], dead = KEYS[4], eventsMax = ARGV[3] }, 6)
if not FAILURE[ARGV[6]] then return redis.error_reply('ERR unknown failure code ' .. tostring(ARGV[6])) end
deadLetter(Q, KEYS[1], KEYS[2], f[1], f[4], KEYS[5], ARGV[1], entryId, f[5], ARGV[2], '', ARGV[5], ARGV[6])
return 1
