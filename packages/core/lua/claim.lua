-- Claims the task of an entry already delivered to the consumer (by a blocking XREADGROUP or by
-- XAUTOCLAIM): checks the task is still wanted, sets status running, attempt + 1, the tracker and
-- a fresh lease token; dead-letters the task when its attempts are used up.
-- With KEYS[2], the entry is taken over from a tracker found dead by its liveness key, before
-- its lease lapses: only while that key is still missing (checked here, atomically), only if the
-- entry is still pending for that tracker and idle for at least ARGV[11] ms, and only if the live
-- lease, if any, is that tracker's own; then the entry moves to the consumer (XCLAIM) and the dead
-- tracker's lease is dropped. A paused tracker that comes back loses through fencing.
-- KEYS[1] the task stream holding the entry
-- KEYS[2] (optional) the liveness key (`<base>:tracker:<name>`) of the tracker the entry is pending for
-- ARGV[1] group  ARGV[2] consumer  ARGV[3] key base  ARGV[4] now (ms)  ARGV[5] lease (ms)
-- ARGV[6] lease token  ARGV[7] events max length  ARGV[8] entry id  ARGV[9] task id
-- ARGV[10] (with KEYS[2]) the dead tracker's consumer name  ARGV[11] (with KEYS[2]) min idle (ms)
-- Returns {'claimed', taskId, attempt, suspect, field1, value1, ...} (the task hash) | {'gone', taskId} (ended or superseded: entry removed)
--       | {'held', taskId} (another tracker's lease is still live; with KEYS[2]: that tracker is
--         alive again, or the entry moved on or was renewed lately, nothing changed) | {'dead', taskId, reason}
-- @include lib-common
if KEYS[2] then
  if redis.call('EXISTS', KEYS[2]) == 1 then return { 'held', ARGV[9] } end
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[11], ARGV[8], ARGV[8], 1)
  if #p == 0 or p[1][2] ~= ARGV[10] then return { 'held', ARGV[9] } end
  local taskKey = ARGV[3] .. ':task:' .. ARGV[9]
  local f = redis.call('HMGET', taskKey, 'tracker', 'leaseToken', 'entry')
  local lease = redis.call('GET', taskKey .. ':lease')
  if lease and f[3] == ARGV[8] then
    if f[1] ~= ARGV[10] or f[2] ~= lease then return { 'held', ARGV[9] } end
    redis.call('DEL', taskKey .. ':lease')
  end
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[8], 'JUSTID')
end
local r = claimEntry(ARGV[3], KEYS[1], ARGV[1], ARGV[8], ARGV[9], ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
if r[1] == 'claimed' then
  for _, v in ipairs(redis.call('HGETALL', ARGV[3] .. ':task:' .. ARGV[9])) do r[#r + 1] = v end
end
return r
