-- Dead-letters a task that is still waiting in its stream (for example: no live tracker of the
-- queue has enough GPUs for it). Does nothing if the task moved on meanwhile.
-- KEYS[1] task hash   KEYS[2] lease key   KEYS[3] events stream   KEYS[4] dead-letter stream
-- ARGV[1] group   ARGV[2] entry id   ARGV[3] reason   ARGV[4] now (ms)   ARGV[5] events max length
-- Returns 1 when dead-lettered, 0 when the task is no longer queued on that entry.
-- @include lib-common
local f = redis.call('HMGET', KEYS[1], 'status', 'entry', 'stream', 'id', 'attempt')
if f[1] ~= 'queued' or f[2] ~= ARGV[2] then return 0 end
local Q = { events = KEYS[3], dead = KEYS[4], eventsMax = ARGV[5] }
deadLetter(Q, KEYS[1], KEYS[2], f[4], f[3], ARGV[1], ARGV[2], f[5], ARGV[4], '', ARGV[3])
return 1
