-- Takes the next task a tracker can run now: among the candidate streams, finds the one whose
-- next undelivered entry comes first in the scheduling order (lib-order.lua, defined by
-- src/scheduling-order.ts: any requeued stream's before any task stream's, as their tasks were
-- taken before everything still waiting; within each kind, the oldest entry); if that task fits
-- the free slots, reads it for the consumer (XREADGROUP) and claims it (status running, attempt + 1, fresh lease). Entries of
-- tasks that ended meanwhile are removed and the search goes on. Strict oldest-first: when the
-- oldest task needs more slots than are free, nothing smaller is taken ahead of it. A suspect task
-- (it was running when a tracker crashed) fits only a tracker that is idle: it runs alone.
-- KEYS[1] events stream   KEYS[2] dead-letter stream   KEYS[3..5] the tenant accounts (waiting,
--         running, GPUs)
-- KEYS[6..5+n] the n candidate streams (for the GPU counts this tracker can ever run): the
--            requeued streams first, then the task streams; stream i below is KEYS[5+i]
-- ARGV[1..3] the head (lib-common.lua): group, now (ms), events max length
-- ARGV[4] consumer   ARGV[5] the key template of a task hash and ARGV[6] of its lease key
--         (keys.ts `keyTemplate`): the task is found in a stream by this script, so its keys
--         cannot be declared in KEYS (the exception lib-common.lua describes: same `{queue}` slot)
-- ARGV[7] lease (ms)   ARGV[8] lease token   ARGV[9] '1' when the tracker runs nothing now
-- ARGV[10] r: streams 1..r are requeued streams
-- ARGV[11..10+n] 1 if the task of stream i fits the free slots now, else 0
-- Returns {'empty', last1, ..., lastn} (lasti: the last-delivered id of stream i's group; with a
--         bare {'empty'} when the search gave up) | {'wait', streamKey, lastEventId} (the oldest does not fit yet;
--         lastEventId: the events stream's last entry, to wait for the next from)
--       | the claim reply of every claim (lib-common.lua claimReply):
--         {kind, taskId, streamKey, entryId, detail, suspect, field1, value1, ...}, kind 'claimed'
--         (with the task hash) | 'dead' (detail the reason) | 'held'
-- Errors: NOGROUP when a stream or its group is missing (the caller recreates them).
-- @include lib-common
-- @include lib-order
local Q = { events = KEYS[1], dead = KEYS[2], eventsMax = ARGV[3], tenantWaiting = KEYS[3], tenantRunning = KEYS[4],
  tenantGpus = KEYS[5] }
local group, consumer, taskTemplate, leaseTemplate = ARGV[1], ARGV[4], ARGV[5], ARGV[6]
local now, leaseMs, token = ARGV[2], ARGV[7], ARGV[8]
local idle = ARGV[9] == '1'
local requeuedCount = tonumber(ARGV[10])
local streams = {}
for i = 6, #KEYS do streams[#streams + 1] = KEYS[i] end

-- The first task in line does not fit yet: wait, from the events stream's last entry on (a change
-- to any task of the queue, such as another tracker taking that one, may change what is first).
local function waitReply(stream)
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  return { 'wait', stream, last and last[1] or '0-0' }
end

-- Stream i's kind of waiting entry (lib-order.lua).
local function kindOf(i)
  if i <= requeuedCount then return 'requeued' end
  return 'waiting'
end

local function nextUndelivered(stream)
  local last = nil
  local groups = redis.call('XINFO', 'GROUPS', stream)
  for _, g in ipairs(groups) do
    for i = 1, #g, 2 do
      if g[i] == 'name' and g[i + 1] ~= group then break end
      if g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    if last then break end
  end
  if not last then return redis.error_reply('NOGROUP no group ' .. group .. ' on ' .. stream) end
  local nxt = redis.call('XRANGE', stream, '(' .. last, '+', 'COUNT', 1)
  if #nxt == 0 then return nil, nil, last end
  return nxt[1][1], nxt[1][2][2], last
end

for _ = 1, 16 do
  local best, bestId, bestTask = nil, nil, nil
  local empty = { 'empty' }
  for i = 1, #streams do
    local head, headTask, last = nextUndelivered(streams[i])
    if type(head) == 'table' then return head end
    if head and (bestId == nil or goesBefore(kindOf(i), head, kindOf(best), bestId)) then
      best, bestId, bestTask = i, head, headTask
    end
    empty[i + 1] = last
  end
  if not best then return empty end
  if ARGV[10 + best] ~= '1' then return waitReply(streams[best]) end
  local taskKey = keyOf(taskTemplate, bestTask)
  if (not idle) and redis.call('HGET', taskKey, 'suspect') == '1' then
    return waitReply(streams[best])
  end
  local stream = streams[best]
  local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', stream, '>')
  local entry = read[1][2][1]
  local entryId, taskId = entry[1], entry[2][2]
  if taskId ~= bestTask then taskKey = keyOf(taskTemplate, taskId) end
  local r = claimEntry(Q, taskKey, keyOf(leaseTemplate, taskId), stream, group, entryId, taskId, consumer, now, leaseMs,
    token)
  if r[1] ~= 'gone' then return r end
end
return { 'empty' }
