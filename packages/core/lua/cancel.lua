-- Cancels a task. A queued task ends `cancelled` at once and its entry is removed, so it never
-- starts. A running (or uploading) task is flagged and its tracker is told through its control
-- stream; the tracker kills the process group and completes the task as `cancelled`.
-- Two steps: the caller reads the task hash's `stream` and `tracker` first and declares the task's
-- stream and that tracker's control stream; this script checks both are unchanged and answers
-- {'retry'} when either changed (the caller reads again).
-- KEYS[1] task hash   KEYS[2] events stream   KEYS[3..9] the scheduling keys (lib-common.lua schedulingQ)
-- KEYS[10] the task's stream, when ARGV[5] is not ''
-- KEYS[10] (no stream) or KEYS[11] the control stream of tracker ARGV[6], when ARGV[6] is not ''
-- ARGV[1..3] the head (lib-common.lua): group, now (ms), events max length
-- ARGV[4] reason   ARGV[5] the task's stream and ARGV[6] its tracker as the caller read them ('' none)
-- Returns {'cancelled'} | {'signalled', tracker} | {'final', status} | {'missing'} | {'retry'}
-- @include lib-common
-- @include lib-claim
local group, now, reason, readStream, readTracker = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local Q = schedulingQ({ events = KEYS[2], eventsMax = ARGV[3] }, 3)
local f = redis.call('HMGET', KEYS[1], 'status', 'entry', 'stream', 'id', 'attempt', 'tracker')
local status = f[1]
if not status then return { 'missing' } end
if FINAL[status] then return { 'final', status } end
if (f[3] or '') ~= readStream or (f[6] or '') ~= readTracker then return { 'retry' } end
local streamKey = readStream ~= '' and KEYS[10] or nil
if status == 'queued' then
  writeStatus(Q, KEYS[1], status, 'cancelled', { 'endedAt', now, 'error', reason, 'errorCode', FAILURE.CANCELLED })
  removeEntry(streamKey, group, f[2])
  appendEvent(Q, f[4], 'cancelled', f[5], now, '', reason)
  return { 'cancelled' }
end
redis.call('HSET', KEYS[1], 'cancelRequested', now, 'cancelReason', reason)
local controlKey = KEYS[streamKey and 11 or 10]
redis.call('XADD', controlKey, 'MAXLEN', '~', 1000, '*', 'cmd', 'cancel', 'id', f[4], 'attempt', f[5])
return { 'signalled', f[6] }
