-- Cancels a task. A queued task ends `cancelled` at once and its entry is removed, so it never
-- starts. A running (or uploading) task is flagged and its tracker is told through its control
-- stream; the tracker kills the process group and completes the task as `cancelled`.
-- KEYS[1] task hash
-- ARGV[1] key base   ARGV[2] group   ARGV[3] now (ms)   ARGV[4] events max length   ARGV[5] reason
-- Returns {'cancelled'} | {'signalled', tracker} | {'final', status} | {'missing'}
-- @include lib-common
local f = redis.call('HMGET', KEYS[1], 'status', 'entry', 'stream', 'id', 'attempt', 'tracker')
local status = f[1]
if not status then return { 'missing' } end
if FINAL[status] then return { 'final', status } end
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'endedAt', ARGV[3], 'error', ARGV[5])
  removeEntry(f[3], ARGV[2], f[2])
  appendEvent(ARGV[1], ARGV[4], f[4], 'cancelled', f[5], ARGV[3], '', ARGV[5])
  return { 'cancelled' }
end
redis.call('HSET', KEYS[1], 'cancelRequested', ARGV[3], 'cancelReason', ARGV[5])
redis.call('XADD', ARGV[1] .. ':tracker:' .. f[6] .. ':control', 'MAXLEN', '~', 1000, '*',
  'cmd', 'cancel', 'id', f[4], 'attempt', f[5])
return { 'signalled', f[6] }
