-- Hands a claimed task back to its queue, fenced by the attempt's lease token: a tracker shutting
-- down gives back what it could not finish (into the requeued stream, so it goes before every
-- waiting task and another tracker takes it at once, not after the lease), and a failed attempt
-- with retries left is queued again after its backoff.
-- KEYS[1] task hash   KEYS[2] lease key   KEYS[3] events stream   KEYS[4] delayed set
-- KEYS[5] last-entry (the entry id sequence)
-- KEYS[6] (optional) the stream to queue it in (default: its own task stream)
-- ARGV[1] lease token   ARGV[2] now (ms)   ARGV[3] group   ARGV[4] events max length
-- ARGV[5] reason   ARGV[6] 'count' | 'free' | 'undo': the attempt counts against maxAttempts,
--         does not (graceful hand-back, retry), or never started (attempt goes back)
-- ARGV[7] delay (ms; 0 = queue now)   ARGV[8] '1' = count a failure (a retry of a failed run)
-- ARGV[9..] field, value pairs to record (the failed attempt's exit code, error...)
-- Returns 1 when handed back, 0 when the task's current attempt is not this token's.
-- @include lib-common
local cur = redis.call('HMGET', KEYS[1], 'leaseToken', 'status')
if cur[1] ~= ARGV[1] or FINAL[cur[2]] then return 0 end
if #ARGV >= 9 then
  local fields = {}
  for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(fields))
end
if ARGV[8] == '1' then redis.call('HINCRBY', KEYS[1], 'failures', 1) end
local Q = { events = KEYS[3], eventsMax = ARGV[4], delayed = KEYS[4], lastEntry = KEYS[5] }
requeueTask(Q, KEYS[1], KEYS[2], ARGV[3], ARGV[2], ARGV[5], ARGV[6], ARGV[7], KEYS[6])
return 1
