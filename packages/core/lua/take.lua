-- Takes the next task a tracker can run now, in the scheduling order (lib-order.lua, defined by
-- src/scheduling-order.ts: priority, requeued first, fair share between tenants, age). The
-- candidates are the heads of the queue's wait sets (lib-wait.lua: one per size, priority, kind
-- and tenant) of the sizes this tracker can ever run. The tenant registry (lib-wait.lua) lists,
-- class by class (priority, then kind), each tenant with the sizes of its sets, so the script reads
-- one class at a time, first the class taken first (lib-order.lua eachClass), and finds its tenants
-- of the lowest fair-share rank, ties included (lib-order.lua lowestRank ranks only the tenants
-- that can rank lowest). Of their sets, those whose size the tenant's running-GPU quota allows
-- (`tenant-settings`: its running GPUs plus the size) have their heads read, and the oldest is the
-- first in line; the next rank when they have none. A class with nothing to offer gives way to the
-- next. The first in line is taken if it fits the free slots: its entry is delivered to the
-- consumer (XCLAIM FORCE: an entry of any place in its stream becomes pending for this consumer,
-- which is what crash recovery follows) and claimed (status running, attempt + 1, fresh lease).
-- Strict: when it does not fit, nothing after it is taken. A suspect task (it was running when a
-- tracker crashed) fits only a tracker that is idle: it runs alone. Stale heads (the task ended or
-- moved) are dropped and the search goes on.
-- Backfill (EASY, as SLURM's, with time limits as the estimates): when the first in line does not
-- fit, it is reserved the tracker whose running tasks, by their time limits, free enough GPUs for
-- it first (each tracker sends, per size, when that is for it: its shadow time). The reservation
-- (`reservation` hash: task, tracker, at) lasts until RESERVATION_TTL_MS past its time, which
-- the holder's running tasks cannot overrun (a holder that fills its slots stops taking, and must
-- not lose it); RESERVATION_TTL_MS after the holder's last take when its time is unknown. A holder
-- that died holds it no longer than that: every other tracker takes the task when it fits them. Then a later task that fits now may start:
-- on any tracker but the holder, and on the holder only if its time limit ends it by the
-- reservation's time, so it never delays the first in line; or if it needs what the first in line
-- does not (a CPU task behind a GPU task, or a GPU task behind a CPU task: slots and GPUs are apart). The candidates are the heads of the
-- wait sets that fit now, in the scheduling order; the holder looks at up to BACKFILL_DEPTH tasks
-- of each such set for one short enough.
-- KEYS[1] events stream   KEYS[2] dead-letter stream   KEYS[3..9] the scheduling keys (schedulingQ)
-- KEYS[10] the reservation hash
-- KEYS[11..] the streams whose entries this tracker may claim (the requeued and task streams of the
--           GPU counts it can ever run); a task on another stream is refused (UNDECLARED_KEY)
-- ARGV[1..3] the head (lib-common.lua): group, now (ms; '' = Redis's clock), events max length
-- ARGV[4] consumer   ARGV[5] the key template of a task hash and ARGV[6] of its lease key
--         (keys.ts `keyTemplate`): the task is found in a wait set by this script, so its keys
--         cannot be declared in KEYS (the exception lib-common.lua describes: same `{queue}` slot)
-- ARGV[7] lease (ms)   ARGV[8] lease token   ARGV[9] '1' when the tracker runs nothing now
-- ARGV[10] the sizes this tracker can ever run, each `<gpus>:<1 if it fits the free slots now, else
--          0>:<its shadow time: when its running tasks, by their time limits, leave that many free
--          (ms); '' unknown>`, comma-separated
-- ARGV[11] the tracker's GPUs grouped by model and memory, for the sizes with a GPU request
--          (lib-gpu-request.lua); '' or absent: it has no GPUs to describe, and takes none of those
-- Returns {'empty', lastEventId} (nothing this tracker could take waits)
--       | {'wait', waitSetName, lastEventId, taskId} (the first in line, `taskId` of wait set
--         `waitSetName`, does not fit yet; or every candidate's tenant is at its quota: both '')
--         lastEventId: the events stream's last entry, to wait for the next one from
--       | the claim reply of every claim (lib-common.lua claimReply):
--         {kind, taskId, streamKey, entryId, detail, suspect, field1, value1, ...}, kind 'claimed'
--         (with the task hash) | 'dead' (detail the reason) | 'held'
-- Errors: NOGROUP when the task's stream has no group (the caller recreates them); nothing written.
-- @include lib-common
-- @include lib-claim
-- @include lib-order
-- @include lib-gpu-request
local Q = schedulingQ({ events = KEYS[1], dead = KEYS[2], eventsMax = ARGV[3] }, 3)
local group, consumer, taskTemplate, leaseTemplate = ARGV[1], ARGV[4], ARGV[5], ARGV[6]
local leaseMs, token = ARGV[7], ARGV[8]
local idle = ARGV[9] == '1'
local now = scriptNow()
local RESERVATION_TTL_MS = 3000
local BACKFILL_DEPTH = 16
local reservation = KEYS[10]
local fits, shadows = {}, {}
for gpus, fit, shadow in string.gmatch(ARGV[10], '(%d+):(%d):(%d*)') do
  fits[gpus] = fit == '1'
  shadows[gpus] = tonumber(shadow) or math.huge
end
local declared = {}
for i = 11, #KEYS do declared[KEYS[i]] = true end
local groups, requested = nil, {}

-- Whether this tracker can run a task of size `size` (its wait set's: a GPU count, with a GPU
-- request or not) at all (nil: never), and whether it fits now; a request's fit and shadow time
-- are worked out the first time one is met (lib-gpu-request.lua).
local function fitOf(size)
  local fit = fits[size]
  if fit ~= nil or not string.find(size, '~', 1, true) then return fit end
  -- A GPU count it cannot run (whose streams it did not declare) it cannot run with a request.
  if fits[string.match(size, '^%d+')] == nil then return nil end
  if requested[size] == nil then
    groups = groups or gpuGroups(ARGV[11])
    local f, shadow = requestFit(size, groups, now)
    requested[size], fits[size], shadows[size] = true, f, shadow
  end
  return fits[size]
end

-- A size's GPU count (a plain count is read as it is: most sizes are).
local function gpuCount(size)
  return tonumber(size) or tonumber(string.match(size, '^%d+'))
end

-- The task id of a wait-set member (`<entry order>:<task id>`).
local function taskIdOf(member)
  return string.match(member, ':([^:]+)$')
end

local function lastEventId()
  local last = redis.call('XREVRANGE', Q.events, '+', '-', 'COUNT', 1)[1]
  return last and last[1] or '0-0'
end

-- The name of the wait set of `tenant`'s tasks of `gpus` GPUs in `class` (as addWaiting names it).
local function setName(class, gpus, tenant)
  return string.format('%s:%d:%s:%s', gpus, class.priority, class.letter, tenant)
end

-- The head of the wait set `name` and whether it is the set's only member (two are read, so that a
-- claim knows without another call whether it empties the set); nil when the set is empty, which
-- takes it out of the registries.
local function headOf(name)
  local two = redis.call('ZRANGE', waitSetKey(Q, name), 0, 1)
  if not two[1] then forgetWaitSet(Q, name) end
  return two[1], two[2] == nil
end

-- Tenant i's wait set of `gpus` GPUs (`name`) in `class` as a scheduling candidate (lib-order.lua
-- goesBefore) whose head is `member` (`alone`: the set's only member). It carries the tenant's
-- usage as ranking read it (lib-order.lua rankTenants), for the claim's accrual not to read it again.
local function candidate(class, i, gpus, name, member, alone)
  return { name = name, size = gpus, gpus = gpuCount(gpus), priority = class.priority, kind = class.kind,
    tenant = class.tenants[i], rank = class.rank[i], fits = fitOf(gpus), member = member, alone = alone,
    usage = class.usage[i], half = class.half }
end

-- The first in line of one class (lib-order.lua readClass): the tenants of the lowest rank (ties
-- included; lowestRank) first, the heads of their sets of the sizes this tracker runs that are
-- within their quota read, and the first of those by goesBefore (within a class: rank, then
-- member); the next rank when all of those were empty. Returns the chosen candidate (or nil) and
-- whether a quota passed a set over (known for the whole class when nothing was chosen: all its
-- tenants were seen).
local function firstOfClass(class)
  local tenants, rank = class.tenants, class.rank
  local done, left, quota = {}, #tenants, false
  while left > 0 do
    local low = lowestRank(Q, class, now, done)
    local chosen = nil
    for _, i in ipairs(class.ranked) do
      -- `not >` rather than `==`: a rank that is not a number is seen too, so the walk ends.
      if not done[i] and not (rank[i] > low) then
        done[i], left = true, left - 1
        local room = roomOf(class, i)
        for gpus in string.gmatch(sizesOf(class, i), '[^,]+') do
          local fit = fitOf(gpus)
          if fit ~= nil and gpuCount(gpus) > room then
            quota = true
          elseif fit ~= nil then
            local name = setName(class, gpus, tenants[i])
            local head, alone = headOf(name)
            if head then
              local set = candidate(class, i, gpus, name, head, alone)
              if (not chosen) or goesBefore(set, chosen) then chosen = set end
            end
          end
        end
      end
    end
    if chosen then return chosen, quota end
  end
  return nil, quota
end

-- The first in line for this tracker, class by class; and whether a quota passed any over.
local function firstInLine()
  local quota = false
  local chosen = eachClass(Q, now, function(class)
    local first, passed = firstOfClass(class)
    quota = quota or passed
    return first
  end)
  return chosen, quota
end

-- Claims the head of `set` (its member `set.member`). Returns the claim reply; nil when the head was
-- stale (the search starts again); 'suspect' when it is a suspect and this tracker is not idle.
local function claimHead(set)
  local taskId = taskIdOf(set.member)
  local taskKey = keyOf(taskTemplate, taskId)
  local f = readClaimFields(taskKey)
  local stream, entryId = f[10], f[4]
  if f[1] ~= 'queued' or f[12] ~= set.member or (not entryId) or entryId == '' then
    -- Stale: the task ended or moved on without leaving this set (it cannot, but never loop on it).
    removeFromWaitSet(Q, set.name, set.member)
    return nil
  end
  if (not idle) and f[7] == '1' then return 'suspect' end
  if not declared[stream] then
    return redis.error_reply('UNDECLARED_KEY task ' .. taskId .. ' is on stream ' .. tostring(stream) ..
      ', which the caller did not declare')
  end
  -- Delivered first: a stream without its group (a flushed Redis) fails here, before any write.
  local delivered = redis.call('XCLAIM', stream, group, consumer, 0, entryId, 'FORCE', 'JUSTID')
  if #delivered == 0 then
    removeWaiting(Q, taskKey)
    return nil
  end
  -- A claim (or a dead letter) leaves the wait set in writeStatus; a task left unclaimed ('held',
  -- 'gone') leaves it here, its entry being this consumer's now.
  local r = claimEntry(Q, taskKey, keyOf(leaseTemplate, taskId), stream, group, entryId, taskId, consumer, now, leaseMs,
    token, f, { alone = set.alone, usage = set.usage, half = set.half })
  if r[1] == 'held' or r[1] == 'gone' then removeWaiting(Q, taskKey) end
  if r[1] == 'gone' then return nil end
  return r
end

-- The reservation of the first in line (`first`): this tracker takes it when there is none for
-- that task, or its own shadow time comes sooner, or it holds it already (refreshing it). Returns
-- the holder and the reservation's time.
local function reserve(first)
  local firstId = taskIdOf(first.member)
  local shadow = shadows[first.size] or math.huge
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
  return eachClass(Q, now, function(class)
    -- Every tenant's rank: the heads are sorted.
    local unranked = {}
    for i = 1, #class.tenants do
      if not class.rank[i] then unranked[#unranked + 1] = i end
    end
    rankTenants(Q, class, now, unranked)
    local heads = {}
    for i, tenant in ipairs(class.tenants) do
      local room = roomOf(class, i)
      for gpus in string.gmatch(sizesOf(class, i), '[^,]+') do
        if fitOf(gpus) and gpuCount(gpus) <= room then
          local name = setName(class, gpus, tenant)
          local head, alone = headOf(name)
          if head then heads[#heads + 1] = candidate(class, i, gpus, name, head, alone) end
        end
      end
    end
    table.sort(heads, goesBefore)
    for _, set in ipairs(heads) do
      -- CPU slots and GPUs are apart: a task of the other kind never delays the first in line.
      local apart = (set.gpus == 0) ~= (first.gpus == 0)
      local members = { set.member }
      if holder == consumer and not apart then
        members = redis.call('ZRANGE', waitSetKey(Q, set.name), 0, BACKFILL_DEPTH - 1)
        set.alone = #members == 1
      end
      for _, member in ipairs(members) do
        if holder ~= consumer or apart or endsBy(member, at) then
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
