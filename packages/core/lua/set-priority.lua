-- Changes the priority of a task that is waiting (status `queued`): the task hash's `priority`,
-- and its place among the waiting tasks (a wait set is per priority, so it moves to the set of its
-- new priority, keeping its entry order). A task in its retry backoff keeps the new priority for
-- when its backoff ends. An entry without a status is appended to the events stream (`change`
-- 'priority'), so a tracker waiting for the queue to change looks again; followers of task
-- statuses skip it.
-- KEYS[1] task hash   KEYS[2] events stream   KEYS[3..9] the scheduling keys (lib-common.lua schedulingQ)
-- ARGV[1..3] the head (lib-common.lua): group (unused), now (ms), events max length
-- ARGV[4] the new priority (checked by the caller: an integer of src/task-priority.ts's range)
-- Returns {'changed', old} | {'not-waiting', status} | {'missing'}
-- @include lib-common
local Q = schedulingQ({ events = KEYS[2], eventsMax = ARGV[3] }, 3)
local f = redis.call('HMGET', KEYS[1], 'status', 'priority', 'id', 'waitSet')
if not f[1] then return { 'missing' } end
if f[1] ~= 'queued' then return { 'not-waiting', f[1] } end
local old = f[2] or tostring(DEFAULT_PRIORITY)
redis.call('HSET', KEYS[1], 'priority', ARGV[4])
if f[4] and f[4] ~= '' then
  removeWaiting(Q, KEYS[1])
  addWaiting(Q, KEYS[1])
end
redis.call('XADD', Q.events, 'MAXLEN', '~', Q.eventsMax, '*', 'id', f[3], 'change', 'priority', 'priority', ARGV[4],
  'at', ARGV[2])
return { 'changed', old }
