-- Moves a claimed task to a non-final status (for example `uploading`) and records fields,
-- fenced by the attempt's lease token (the task hash's `leaseToken`). An event is appended only
-- when the status changes.
-- KEYS[1] task hash   KEYS[2] events stream
-- ARGV[1] lease token   ARGV[2] status   ARGV[3] now (ms)   ARGV[4] events max length
-- ARGV[5..] field, value pairs
-- Returns 1 when written, 0 when the task's current attempt is not this token's (nothing written).
-- @include lib-common
local cur = redis.call('HMGET', KEYS[1], 'leaseToken', 'status')
if cur[1] ~= ARGV[1] or FINAL[cur[2]] then return 0 end
local fields = { 'status', ARGV[2] }
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
if cur[2] ~= ARGV[2] then
  local f = redis.call('HMGET', KEYS[1], 'id', 'attempt', 'tracker')
  appendEvent({ events = KEYS[2], eventsMax = ARGV[4] }, f[1], ARGV[2], f[2], ARGV[3], f[3], '')
end
return 1
