-- Dead-letters a task that is still waiting in its stream (for example: no live tracker of the
-- queue has enough GPUs for it). Does nothing if the task moved on meanwhile.
-- KEYS[1] task hash
-- ARGV[1] key base   ARGV[2] group   ARGV[3] entry id   ARGV[4] reason   ARGV[5] now (ms)
-- ARGV[6] events max length
-- Returns 1 when dead-lettered, 0 when the task is no longer queued on that entry.
-- @include lib-common
local f = redis.call('HMGET', KEYS[1], 'status', 'entry', 'stream', 'id', 'attempt')
if f[1] ~= 'queued' or f[2] ~= ARGV[3] then return 0 end
deadLetter(ARGV[1], ARGV[6], KEYS[1], f[4], f[3], ARGV[2], ARGV[3], f[5], ARGV[5], '', ARGV[4])
return 1
