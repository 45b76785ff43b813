-- Cancels a task. A queued task ends `cancelled` at once and its entry is removed, so it never
-- starts. A running (or uploading) task is flagged and its tracker is told through its control
-- stream; the tracker kills the process group and completes the task as `cancelled`.
-- KEYS[1] task hash   KEYS[2] events stream
-- ARGV[1] group   ARGV[2] now (ms)   ARGV[3] events max length   ARGV[4] reason
-- ARGV[5] the key template of a tracker's control stream (keys.ts `keyTemplate`): the tracker is
--         found in the task hash, so its control stream cannot be declared in KEYS
-- Returns {'cancelled'} | {'signalled', tracker} | {'final', status} | {'missing'}
-- @include lib-common
local Q = { events = KEYS[2], eventsMax = ARGV[3] }
local group, now, reason = ARGV[1], ARGV[2], ARGV[4]
local f = redis.call('HMGET', KEYS[1], 'status', 'entry', 'stream', 'id', 'attempt', 'tracker')
local status = f[1]
if not status then return { 'missing' } end
if FINAL[status] then return { 'final', status } end
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'endedAt', now, 'error', reason)
  removeEntry(f[3], group, f[2])
  appendEvent(Q, f[4], 'cancelled', f[5], now, '', reason)
  return { 'cancelled' }
end
redis.call('HSET', KEYS[1], 'cancelRequested', now, 'cancelReason', reason)
redis.call('XADD', keyOf(ARGV[5], f[6]), 'MAXLEN', '~', 1000, '*',
  'cmd', 'cancel', 'id', f[4], 'attempt', f[5])
return { 'signalled', f[6] }
