-- Writes a claimed task's final status and output manifest, fenced by the attempt's lease token,
-- then acknowledges and deletes its stream entry and appends the event, all at once. A `dead`
-- status also goes to the dead-letter stream. The fence is the task hash's `leaseToken` (not the
-- TTL'd lease key), so an attempt whose lease key expired during a Redis outage still completes
-- when nobody else claimed the task meanwhile. The token is cleared: a task completes once.
-- KEYS[1] task hash   KEYS[2] lease key   KEYS[3] events stream   KEYS[4] dead-letter stream
-- ARGV[1] lease token   ARGV[2] final status   ARGV[3] now (ms)   ARGV[4] group
-- ARGV[5] events max length   ARGV[6] reason ('' for none)
-- ARGV[7..] field, value pairs (exitCode, signal, error, outputs, ...)
-- Returns 1 when written, 0 when the task's current attempt is not this token's (nothing written).
-- @include lib-common
local Q = { events = KEYS[3], eventsMax = ARGV[5] }
local f = redis.call('HMGET', KEYS[1], 'leaseToken', 'status', 'id', 'attempt', 'tracker', 'stream', 'entry')
if f[1] ~= ARGV[1] or FINAL[f[2]] then return 0 end
local fields = { 'status', ARGV[2], 'endedAt', ARGV[3], 'leaseToken', '', 'suspect', '' }
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('DEL', KEYS[2])
removeEntry(f[6], ARGV[4], f[7])
if ARGV[2] == 'dead' then
  redis.call('XADD', KEYS[4], '*', 'id', f[3], 'reason', ARGV[6], 'at', ARGV[3], 'attempt', f[4])
end
appendEvent(Q, f[3], ARGV[2], f[4], ARGV[3], f[5], ARGV[6])
return 1
