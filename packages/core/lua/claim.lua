-- Claims the task of an entry already delivered to the consumer by its blocking XREADGROUP:
-- checks the task is still wanted, sets status running, attempt + 1, the tracker and a fresh lease
-- token; dead-letters the task when its attempts are used up.
-- KEYS[1] the task stream holding the entry
-- ARGV[1] group  ARGV[2] consumer  ARGV[3] key base  ARGV[4] now (ms)  ARGV[5] lease (ms)
-- ARGV[6] lease token  ARGV[7] events max length  ARGV[8] entry id  ARGV[9] task id
-- Returns {'claimed', taskId, attempt, suspect, field1, value1, ...} (the task hash) | {'gone', taskId} (ended or superseded: entry removed)
--       | {'held', taskId} (another tracker's lease is still live) | {'dead', taskId, reason}
-- @include lib-common
local r = claimEntry(ARGV[3], KEYS[1], ARGV[1], ARGV[8], ARGV[9], ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
if r[1] == 'claimed' then
  for _, v in ipairs(redis.call('HGETALL', ARGV[3] .. ':task:' .. ARGV[9])) do r[#r + 1] = v end
end
return r
