-- Preemption (docs/architecture.md, "Preemption"): tracker ARGV[4] is to stop some of its running
-- tasks (KEYS[5..], the victims) so that the first task in line (KEYS[4]), which does not fit any
-- free slots, fits it. Everything is checked in this one step: the first task still waits and is
-- not a suspect; each victim is running on this attempt (its lease token), was submitted
-- preemptible and has a lower priority than the first task; and no other preemption for the first
-- task is under way (`preemptions`: first task id -> `<tracker>,<until ms>`, the tracker alive:
-- a tracker that died stopping its victims holds nothing, its tasks are recovered as after any
-- crash), so two trackers never stop tasks for the same one. The preemption is recorded until ARGV[6] (the victims' grace
-- has ended, plus a margin); the tracker takes the first task's backfill reservation until the
-- grace ends (ARGV[7]), so it starts nothing on what its victims free that would delay that task.
-- Each victim counts one more preemption (`preemptions`, `preemptedBy`) and gets an entry on the
-- events stream without a status (`change` 'preempted'): followers of statuses skip it, trackers
-- waiting for the queue to change look again. The victims are then stopped by the tracker and
-- handed back to the queue without counting an attempt (release.lua 'free').
-- KEYS[1] events stream   KEYS[2] preemptions hash   KEYS[3] reservation hash
-- KEYS[4] the first task's hash   KEYS[5..] the victims' task hashes
-- ARGV[1..3] the head (lib-common.lua): group (unused), now (ms), events max length
-- ARGV[4] consumer   ARGV[5] the first task's id   ARGV[6] until (ms)   ARGV[7] when the grace ends (ms)
-- ARGV[8] the key template of a tracker's liveness key (keys.ts `keyTemplate(trackerAlive)`: the
--         holder of a preemption is found in Redis, the exception lib-common.lua describes)
-- ARGV[9..] the victims' lease tokens, in KEYS order
-- Returns {'preempted'} | {'busy', tracker} (another preemption for that task is under way)
--       | {'not-waiting', status} (the first task was taken, ended, or is a suspect: 'suspect')
--       | {'refused', victimId, reason} (a victim may not be stopped: nothing is written)
-- @include lib-common
local now = scriptNow()
local consumer, firstId, untilMs, graceEnd = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local events, preemptions, reservation = KEYS[1], KEYS[2], KEYS[3]

local first = redis.call('HMGET', KEYS[4], 'status', 'priority', 'suspect', 'waitMember', 'gpus')
if first[1] ~= 'queued' or (first[4] or '') == '' then return { 'not-waiting', first[1] or 'missing' } end
if first[3] == '1' then return { 'not-waiting', 'suspect' } end
local priority = tonumber(first[2] or '') or DEFAULT_PRIORITY

-- Preemptions whose time is over are dropped here (the hash holds those under way).
local held = redis.call('HGETALL', preemptions)
for i = 1, #held, 2 do
  local tracker, till = string.match(held[i + 1], '^(.*),(%d+)$')
  if not till or tonumber(till) <= now then
    redis.call('HDEL', preemptions, held[i])
  elseif held[i] == firstId then
    if redis.call('EXISTS', keyOf(ARGV[8], tracker)) == 1 then return { 'busy', tracker } end
    redis.call('HDEL', preemptions, held[i])
  end
end

for i = 5, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 'id', 'status', 'leaseToken', 'preemptible', 'priority')
  local why = nil
  if v[2] ~= 'running' or v[3] ~= ARGV[i + 4] then
    why = 'it is not running on this attempt'
  elseif v[4] ~= '1' then
    why = 'it was not submitted preemptible'
  elseif (tonumber(v[5] or '') or DEFAULT_PRIORITY) >= priority then
    why = 'its priority is not lower than ' .. priority
  end
  if why then return { 'refused', v[1] or '', why } end
end

redis.call('HSET', preemptions, firstId, consumer .. ',' .. untilMs)
redis.call('HSET', reservation, 'task', firstId, 'tracker', consumer, 'at', graceEnd, 'gpus', first[5] or '0')
redis.call('PEXPIRE', reservation, math.max(1, tonumber(untilMs) - now))
for i = 5, #KEYS do
  local id = redis.call('HGET', KEYS[i], 'id')
  redis.call('HSET', KEYS[i], 'preemptedBy', firstId)
  redis.call('HINCRBY', KEYS[i], 'preemptions', 1)
  redis.call('XADD', events, 'MAXLEN', '~', ARGV[3], '*', 'id', id, 'change', 'preempted', 'by', firstId,
    'tracker', consumer, 'at', string.format('%.0f', now))
end
return { 'preempted' }
