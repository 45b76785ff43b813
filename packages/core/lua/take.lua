-- Takes the next task a tracker can run now, in the scheduling order (lib-order.lua, defined by
-- src/scheduling-order.ts: priority, requeued first, fair share between tenants, age). The
-- candidates are the heads of the queue's wait sets (lib-common.lua: one per size, priority, kind
-- and tenant) of the sizes this tracker can ever run. The registry lists the sets by class
-- (priority, then kind), so the script reads one class at a time, first the class taken first:
-- among its sets, those whose tenant's running GPUs plus the set's size would pass the tenant's
-- quota (`tenant-settings`) are passed over; of the others, the sets of the tenants of the lowest
-- fair-share rank (ties included) are read, and their oldest head is the first in line. A class
-- with nothing to offer gives way to the next. The first in line is taken if it fits the free
-- slots: its entry is delivered to the consumer (XCLAIM FORCE: an entry of any place in its stream
-- becomes pending for this consumer, which is what crash recovery follows) and claimed (status
-- running, attempt + 1, fresh lease). Strict: when it does not fit, nothing after it is taken. A
-- suspect task (it was running when a tracker crashed) fits only a tracker that is idle: it runs
-- alone. Stale heads (the task ended or moved) are dropped and the search goes on.
-- Backfill (EASY, as SLURM's, with time limits as the estimates): when the first in line does not
-- fit, it is reserved the tracker whose running tasks, by their time limits, free enough GPUs for
-- it first (each tracker sends, per size, when that is for it: its shadow time). The reservation
-- (`reservation` hash: task, tracker, at) lasts until RESERVATION_TTL_MS past its time, which
-- the holder's running tasks cannot overrun (a holder that fills its slots stops taking, and must
-- not lose it); RESERVATION_TTL_MS after the holder's last take when its time is unknown. A holder
-- that died holds it no longer than that: every other tracker takes the task when it fits them. Then a later task that fits now may start:
-- on any tracker but the holder, and on the holder only if its time limit ends it by the
-- reservation's time, so it never delays the first in line. The candidates are the heads of the
-- wait sets that fit now, in the scheduling order; the holder looks at up to BACKFILL_DEPTH tasks
-- of each such set for one short enough.
-- KEYS[1] events stream   KEYS[2] dead-letter stream   KEYS[3..8] the scheduling keys (schedulingQ)
-- KEYS[9] the reservation hash
-- KEYS[10..] the streams whose entries this tracker may claim (the requeued and task streams of the
--           GPU counts it can ever run); a task on another stream is refused (UNDECLARED_KEY)
-- ARGV[1..3] the head (lib-common.lua): group, now (ms; '' = Redis's clock), events max length
-- ARGV[4] consumer   ARGV[5] the key template of a task hash and ARGV[6] of its lease key
--         (keys.ts `keyTemplate`): the task is found in a wait set by this script, so its keys
--         cannot be declared in KEYS (the exception lib-common.lua describes: same `{queue}` slot)
-- ARGV[7] lease (ms)   ARGV[8] lease token   ARGV[9] '1' when the tracker runs nothing now
-- ARGV[10] the sizes this tracker can ever run, each `<gpus>:<1 if it fits the free slots now, else
--          0>:<its shadow time: when its running tasks, by their time limits, leave that many free
--          (ms); '' unknown>`, comma-separated
-- Returns {'empty', lastEventId} (nothing this tracker could take waits)
--       | {'wait', waitSetName, lastEventId, taskId} (the first in line, `taskId` of wait set
--         `waitSetName`, does not fit yet; or every candidate's tenant is at its quota: both '')
--         lastEventId: the events stream's last entry, to wait for the next one from
--       | the claim reply of every claim (lib-common.lua claimReply):
--         {kind, taskId, streamKey, entryId, detail, suspect, field1, value1, ...}, kind 'claimed'
--         (with the task hash) | 'dead' (detail the reason) | 'held'
-- Errors: NOGROUP when the task's stream has no group (the caller recreates them); nothing written.
-- @include lib-common
-- @include lib-order
local Q = schedulingQ({ events = KEYS[1], dead = KEYS[2], eventsMax = ARGV[3] }, 3)
local group, consumer, taskTemplate, leaseTemplate = ARGV[1], ARGV[4], ARGV[5], ARGV[6]
local leaseMs, token = ARGV[7], ARGV[8]
local idle = ARGV[9] == '1'
local now = scriptNow()
local RESERVATION_TTL_MS = 3000
local BACKFILL_DEPTH = 16
local reservation = KEYS[9]
local fits, shadows = {}, {}
for gpus, fit, shadow in string.gmatch(ARGV[10], '(%d+):(%d):(%d*)') do
  fits[gpus] = fit == '1'
  shadows[gpus] = tonumber(shadow) or math.huge
end
local declared = {}
for i = 10, #KEYS do declared[KEYS[i]] = true end

-- The task id of a wait-set member (`<entry order>:<task id>`).
local function taskIdOf(member)
  return string.match(member, ':([^:]+)$')
end

local function lastEventId()
  local last = redis.call('XREVRANGE', Q.events, '+', '-', 'COUNT', 1)[1]
  return last and last[1] or '0-0'
end

-- The sets of one class (one registry score) of the sizes this tracker runs that are within their
-- tenants' quotas, as parallel lists (names, sizes, tenants: a table per set cost more than the
-- rest of the take with 20 tenants), and each tenant's fair-share rank; `quota` true when a set
-- was passed over for its quota. Returns { names, sizes, owners, rank, quota }.
local function classSets(score)
  local names, sizes, owners = {}, {}, {}
  local tenants, seen = {}, {}
  for _, name in ipairs(redis.call('ZRANGEBYSCORE', Q.waitSets, score, score)) do
    local gpus, tenant = string.match(name, '^(%d+):%d+:[rw]:(.+)$')
    if gpus and fits[gpus] ~= nil then
      names[#names + 1], sizes[#sizes + 1], owners[#owners + 1] = name, gpus, tenant
      if not seen[tenant] then
        seen[tenant] = true
        tenants[#tenants + 1] = tenant
      end
    end
  end
  if #tenants == 0 then return { names = {}, sizes = {}, owners = {}, rank = {}, quota = false } end
  local settings = redis.call('HMGET', Q.tenantSettings, unpack(tenants))
  local held = redis.call('HMGET', Q.tenantGpus, unpack(tenants))
  local usage = redis.call('HMGET', Q.tenantUsage, HALF_LIFE_FIELD, unpack(tenants))
  local half = tonumber(usage[1] or '') or DEFAULT_HALF_LIFE_MS
  local rank, room = {}, {}
  for i, tenant in ipairs(tenants) do
    local weight, max = string.match(settings[i] or '', '^([^,]*),?(.*)$')
    weight = tonumber(weight) or 1
    if weight <= 0 then weight = 1 end
    local gpus = math.max(0, tonumber(held[i] or '0'))
    rank[tenant] = fairShareRank(usageAt(usage[i + 1] or nil, gpus, now, half), gpus, weight, half)
    local limit = tonumber(max)
    room[tenant] = limit and (limit - gpus) or math.huge
  end
  local openNames, openSizes, openOwners, quota = {}, {}, {}, false
  for i = 1, #names do
    if tonumber(sizes[i]) > room[owners[i]] then
      quota = true
    else
      local n = #openNames + 1
      openNames[n], openSizes[n], openOwners[n] = names[i], sizes[i], owners[i]
    end
  end
  return { names = openNames, sizes = openSizes, owners = openOwners, rank = rank, quota = quota }
end

-- Walks the registry class by class, the class taken first first: calls visit(class) with the
-- class's sets (classSets, plus its `priority` and `kind`) and returns the first answer that is
-- not nil (nil when every class was visited).
local function eachClass(visit)
  local score = '-inf'
  while true do
    local next = redis.call('ZRANGEBYSCORE', Q.waitSets, score, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if #next == 0 then return nil end
    local class = classSets(next[2])
    local priority, kind = string.match(next[1], '^%d+:(%d+):([rw]):')
    class.priority, class.kind = tonumber(priority), kind == 'r' and 'requeued' or 'waiting'
    local answer = visit(class)
    if answer ~= nil then return answer end
    score = '(' .. next[2]
  end
end

-- Set i of `class` as a scheduling candidate (lib-order.lua goesBefore) whose head is `member`.
local function candidate(class, i, member)
  return { name = class.names[i], gpus = tonumber(class.sizes[i]), priority = class.priority, kind = class.kind,
    tenant = class.owners[i], fits = fits[class.sizes[i]], member = member }
end

-- The first in line of one class: of its sets (within quota), the heads of the tenants of the
-- lowest rank (all sets of a class share priority and kind: goesBefore orders them by rank, then
-- member), the first by goesBefore. A set found empty leaves the registry; the next rank is tried
-- when all of the lowest were empty. Returns the chosen candidate, or nil.
local function firstOfClass(class)
  local names, owners, rank = class.names, class.owners, class.rank
  local left = #names
  local done = {}
  while left > 0 do
    local low = math.huge
    for i = 1, #names do
      if not done[i] and rank[owners[i]] < low then low = rank[owners[i]] end
    end
    local chosen = nil
    for i = 1, #names do
      if not done[i] and rank[owners[i]] == low then
        done[i] = true
        left = left - 1
        local head = redis.call('ZRANGE', waitSetKey(Q, names[i]), 0, 0)[1]
        if not head then
          redis.call('ZREM', Q.waitSets, names[i])
        else
          local set = candidate(class, i, head)
          if (not chosen) or goesBefore(set, chosen, rank) then chosen = set end
        end
      end
    end
    if chosen then return chosen end
  end
  return nil
end

-- The first in line for this tracker, class by class; and whether a quota passed any over.
local function firstInLine()
  local quota = false
  local chosen = eachClass(function(class)
    quota = quota or class.quota
    return firstOfClass(class)
  end)
  return chosen, quota
end

-- Claims the head of `set` (its member `set.member`). Returns the claim reply; nil when the head was
-- stale (the search starts again); 'suspect' when it is a suspect and this tracker is not idle.
local function claimHead(set)
  local taskId = taskIdOf(set.member)
  local taskKey = keyOf(taskTemplate, taskId)
  local f = redis.call('HMGET', taskKey, 'status', 'stream', 'entry', 'suspect', 'waitMember')
  if f[1] ~= 'queued' or f[5] ~= set.member or (not f[3]) or f[3] == '' then
    -- Stale: the task ended or moved on without leaving this set (it cannot, but never loop on it).
    removeFromWaitSet(Q, set.name, set.member)
    return nil
  end
  if (not idle) and f[4] == '1' then return 'suspect' end
  if not declared[f[2]] then
    return redis.error_reply('UNDECLARED_KEY task ' .. taskId .. ' is on stream ' .. tostring(f[2]) ..
      ', which the caller did not declare')
  end
  -- Delivered first: a stream without its group (a flushed Redis) fails here, before any write.
  local delivered = redis.call('XCLAIM', f[2], group, consumer, 0, f[3], 'FORCE', 'JUSTID')
  if #delivered == 0 then
    removeWaiting(Q, taskKey)
    return nil
  end
  -- A claim (or a dead letter) leaves the wait set in writeStatus; a task left unclaimed ('held',
  -- 'gone') leaves it here, its entry being this consumer's now.
  local r = claimEntry(Q, taskKey, keyOf(leaseTemplate, taskId), f[2], group, f[3], taskId, consumer, now, leaseMs,
    token)
  if r[1] == 'held' or r[1] == 'gone' then removeWaiting(Q, taskKey) end
  if r[1] == 'gone' then return nil end
  return r
end

-- The reservation of the first in line (`first`): this tracker takes it when there is none for
-- that task, or its own shadow time comes sooner, or it holds it already (refreshing it). Returns
-- the holder and the reservation's time.
local function reserve(first)
  local firstId = taskIdOf(first.member)
  local shadow = shadows[tostring(first.gpus)] or math.huge
  local r = redis.call('HMGET', reservation, 'task', 'tracker', 'at')
  local holder, at = r[2], tonumber(r[3])
  if r[1] ~= firstId or not at or holder == consumer or shadow < at then
    holder, at = consumer, math.min(shadow, 9e15)
    redis.call('HSET', reservation, 'task', firstId, 'tracker', consumer, 'at', string.format('%.0f', at),
      'gpus', first.gpus)
    local ttl = RESERVATION_TTL_MS
    if at < 9e15 then ttl = math.max(ttl, math.floor(at - now) + RESERVATION_TTL_MS) end
    redis.call('PEXPIRE', reservation, ttl)
  end
  return holder, at
end

-- Whether the holder may start `member` now: its time limit ends it by the reservation's time `at`
-- (never when the holder could not tell when its GPUs free: `at` 9e15).
local function endsBy(member, at)
  if at >= 9e15 then return false end
  local limit = tonumber(redis.call('HGET', keyOf(taskTemplate, taskIdOf(member)), 'timeLimitMs') or '')
  return limit ~= nil and now + limit <= at
end

-- The first in line (`first`) does not fit: reserve it and look for a later task to start now
-- without delaying it. Returns a claim reply, 'again' (a stale head: search again), or nil.
local function backfill(first)
  local holder, at = reserve(first)
  return eachClass(function(class)
    local heads = {}
    for i = 1, #class.names do
      if fits[class.sizes[i]] then
        local head = redis.call('ZRANGE', waitSetKey(Q, class.names[i]), 0, 0)[1]
        if head then
          heads[#heads + 1] = candidate(class, i, head)
        else
          redis.call('ZREM', Q.waitSets, class.names[i])
        end
      end
    end
    table.sort(heads, function(a, b) return goesBefore(a, b, class.rank) end)
    for _, set in ipairs(heads) do
      local members = { set.member }
      if holder == consumer then
        members = redis.call('ZRANGE', waitSetKey(Q, set.name), 0, BACKFILL_DEPTH - 1)
      end
      for _, member in ipairs(members) do
        if holder ~= consumer or endsBy(member, at) then
          set.member = member
          local claimed = claimHead(set)
          if claimed == nil then return 'again' end
          if claimed ~= 'suspect' then return claimed end
          break
        end
      end
    end
    return nil
  end)
end

for _ = 1, 16 do
  local chosen, quota = firstInLine()
  if not chosen then
    if quota then return { 'wait', '', lastEventId() } end
    return { 'empty', lastEventId() }
  end
  if chosen.fits then
    local claimed = claimHead(chosen)
    if claimed == 'suspect' then return { 'wait', chosen.name, lastEventId(), taskIdOf(chosen.member) } end
    if claimed then return claimed end
  else
    local claimed = backfill(chosen)
    if claimed == nil then return { 'wait', chosen.name, lastEventId(), taskIdOf(chosen.member) } end
    if claimed ~= 'again' then return claimed end
  end
end
return { 'empty', lastEventId() }
