-- Hands a claimed task back to its queue, fenced by the attempt's lease token: a tracker shutting
-- down gives back what it could not finish (into the requeued stream, so it goes before every
-- waiting task and another tracker takes it at once, not after the lease), and a failed attempt
-- with retries left is queued again after its backoff.
-- KEYS[1] task hash   KEYS[2] lease key   KEYS[3] events stream   KEYS[4] delayed set
-- KEYS[5] last-entry (the entry id sequence)   KEYS[6..12] the scheduling keys (lib-common.lua schedulingQ)
-- KEYS[13] the stream the claim's entry is on (the task hash's `stream`, checked)
-- KEYS[14] (optional) the stream to queue it in (default: KEYS[13])
-- ARGV[1..3] the head (lib-common.lua): group, now (ms), events max length
-- ARGV[4] lease token   ARGV[5] reason   ARGV[6] 'count' | 'free' | 'undo': the attempt counts
--         against maxAttempts, does not (graceful hand-back, retry), or never started (attempt
--         goes back)
-- ARGV[7] delay (ms; 0 = queue now)   ARGV[8] '1' = count a failure (a retry of a failed run)
-- ARGV[9..] field, value pairs to record (the failed attempt's exit code, error...)
-- Returns 1 when handed back, 0 when the task's current attempt is not this token's.
-- Errors: ILLEGAL_TRANSITION, UNDECLARED_KEY (the task is not on KEYS[13]); nothing written.
-- @include lib-common
-- @include lib-requeue
local cur = redis.call('HMGET', KEYS[1], 'leaseToken', 'status', 'stream')
if cur[1] ~= ARGV[4] or FINAL[cur[2]] then return 0 end
checkStream(cur[3], KEYS[13])
local fields = {}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
local Q = schedulingQ({ events = KEYS[3], eventsMax = ARGV[3], delayed = KEYS[4], lastEntry = KEYS[5] }, 6)
requeueTask(Q, KEYS[1], KEYS[2], KEYS[13], ARGV[1], ARGV[2], ARGV[5], ARGV[6], ARGV[7], KEYS[14], fields)
if ARGV[8] == '1' then redis.call('HINCRBY', KEYS[1], 'failures', 1) end
return 1
