-- Records a change of a running service's state (src/service-state.ts), fenced by the attempt's
-- lease token, and appends it to the queue's events stream as an entry with `status` running,
-- `service` the new state and, for `ready`, `endpoints`. Endpoints are kept only while `ready`:
-- any other state empties them (and `readyAt`).
-- KEYS[1] task hash   KEYS[2] events stream
-- ARGV[1..3] the head (lib-common.lua): group (unused), now (ms), events max length
-- ARGV[4] lease token   ARGV[5] state   ARGV[6] endpoints (JSON; '' unless ready)
-- ARGV[7] reason ('' for none)   ARGV[8] restarts so far
-- Returns 1 when written, 0 when the task's current attempt is not this token's or it is not
-- running (nothing written).
-- @include lib-common
local now, token, state, endpoints, reason, restarts = ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local cur = redis.call('HMGET', KEYS[1], 'leaseToken', 'status', 'id', 'attempt', 'tracker')
if cur[1] ~= token or cur[2] ~= 'running' then return 0 end
local readyAt = state == 'ready' and now or ''
if state ~= 'ready' then endpoints = '' end
redis.call('HSET', KEYS[1], 'serviceState', state, 'endpoints', endpoints, 'readyAt', readyAt,
  'serviceReason', reason, 'serviceRestarts', restarts)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*',
  'id', cur[3], 'status', 'running', 'attempt', cur[4] or '0', 'at', now,
  'tracker', cur[5] or '', 'reason', reason, 'service', state, 'endpoints', endpoints)
return 1
