-- Renews a running attempt's lease and resets its entry's idle time (XCLAIM to the same consumer
-- with JUSTID, so the delivery count does not grow), so no other tracker reclaims it. The lease
-- key is set again even if it expired, as long as the attempt is still the task's current one.
-- KEYS[1] task hash   KEYS[2] lease key   KEYS[3] task stream
-- ARGV[1..3] the head (lib-common.lua): group, now (unused: ''), events max length (unused)
-- ARGV[4] lease token   ARGV[5] lease (ms)   ARGV[6] consumer   ARGV[7] entry id
-- Returns 1 when renewed, 2 when renewed and a cancel was requested (the tracker kills the task:
-- this backs up the control stream), 0 when the task's current attempt is not this token's.
local f = redis.call('HMGET', KEYS[1], 'leaseToken', 'cancelRequested')
if f[1] ~= ARGV[4] then return 0 end
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
redis.call('XCLAIM', KEYS[3], ARGV[1], ARGV[6], 0, ARGV[7], 'JUSTID')
if f[2] and f[2] ~= '' then return 2 end
return 1
