-- Writes a claimed task's final status and output manifest, fenced by the attempt's lease token,
-- then acknowledges and deletes its stream entry and appends the event, all at once. A `dead`
-- status also goes to the dead-letter stream. The fence is the task hash's `leaseToken` (not the
-- TTL'd lease key), so an attempt whose lease key expired during a Redis outage still completes
-- when nobody else claimed the task meanwhile. The token is cleared: a task completes once.
-- KEYS[1] task hash   KEYS[2] lease key   KEYS[3] events stream   KEYS[4] dead-letter stream
-- KEYS[5] the stream the claim's entry is on (the task hash's `stream`, checked)
-- KEYS[6..12] the scheduling keys (lib-common.lua schedulingQ)
-- ARGV[1..3] the head (lib-common.lua): group, now (ms), events max length
-- ARGV[4] lease token   ARGV[5] final status   ARGV[6] reason ('' for none)
-- ARGV[7..] field, value pairs (exitCode, signal, error, outputs, ...)
-- Returns 1 when written, 0 when the task's current attempt is not this token's (nothing written).
-- Errors: ILLEGAL_TRANSITION when src/task-status.ts does not allow the change, UNDECLARED_KEY
-- when the task is not on KEYS[5] (nothing written either way).
-- @include lib-common
local group, now, token, status, reason = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local Q = schedulingQ({ events = KEYS[3], eventsMax = ARGV[3] }, 6)
local f = redis.call('HMGET', KEYS[1], 'leaseToken', 'status', 'id', 'attempt', 'tracker', 'stream', 'entry', 'tenant',
  'gpus', 'dependents')
if f[1] ~= token or FINAL[f[2]] then return 0 end
checkStream(f[6], KEYS[5])
local fields = { 'endedAt', now, 'leaseToken', '', 'suspect', '' }
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
writeStatus(Q, KEYS[1], f[2], status, fields, { tenant = f[8], gpus = f[9], dependents = f[10] })
redis.call('DEL', KEYS[2])
removeEntry(KEYS[5], group, f[7])
if status == 'dead' then
  redis.call('XADD', KEYS[4], '*', 'id', f[3], 'reason', reason, 'at', now, 'attempt', f[4])
end
appendEvent(Q, f[3], status, f[4], now, f[5], reason)
return 1
