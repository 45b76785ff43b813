-- Moves a claimed task to a non-final status (for example `uploading`) and records fields,
-- fenced by the attempt's lease token (the task hash's `leaseToken`). An event is appended only
-- when the status changes.
-- KEYS[1] task hash   KEYS[2] events stream   KEYS[3..9] the scheduling keys (lib-common.lua schedulingQ)
-- ARGV[1..3] the head (lib-common.lua): group (unused), now (ms), events max length
-- ARGV[4] lease token   ARGV[5] status   ARGV[6..] field, value pairs
-- Returns 1 when written, 0 when the task's current attempt is not this token's (nothing written).
-- Errors: ILLEGAL_TRANSITION when src/task-status.ts does not allow the change (nothing written).
-- @include lib-common
local now, token, status = ARGV[2], ARGV[4], ARGV[5]
local cur = redis.call('HMGET', KEYS[1], 'leaseToken', 'status')
if cur[1] ~= token or FINAL[cur[2]] then return 0 end
local Q = schedulingQ({ events = KEYS[2], eventsMax = ARGV[3] }, 3)
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
writeStatus(Q, KEYS[1], cur[2], status, fields)
if cur[2] ~= status then
  local f = redis.call('HMGET', KEYS[1], 'id', 'attempt', 'tracker')
  appendEvent(Q, f[1], status, f[2], now, f[3], '')
end
return 1
