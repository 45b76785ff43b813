-- Claims the task of an entry already delivered to the consumer by its blocking XREADGROUP:
-- checks the task is still wanted, sets status running, attempt + 1, the tracker and a fresh lease
-- token; dead-letters the task when its attempts are used up.
-- KEYS[1] the task stream holding the entry   KEYS[2] task hash   KEYS[3] lease key
-- KEYS[4] events stream   KEYS[5] dead-letter stream
-- ARGV[1] group  ARGV[2] consumer  ARGV[3] now (ms)  ARGV[4] lease (ms)  ARGV[5] lease token
-- ARGV[6] events max length  ARGV[7] entry id  ARGV[8] task id
-- Returns {'claimed', taskId, attempt, suspect, field1, value1, ...} (the task hash) | {'gone', taskId} (ended or superseded: entry removed)
--       | {'held', taskId} (another tracker's lease is still live) | {'dead', taskId, reason}
-- @include lib-common
local Q = { events = KEYS[4], dead = KEYS[5], eventsMax = ARGV[6] }
local r = claimEntry(Q, KEYS[2], KEYS[3], KEYS[1], ARGV[1], ARGV[7], ARGV[8], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if r[1] == 'claimed' then
  for _, v in ipairs(redis.call('HGETALL', KEYS[2])) do r[#r + 1] = v end
end
return r
