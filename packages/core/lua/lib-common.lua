-- Shared helpers, included at the top of the scripts that say `-- @include lib-common`.
--
-- ARGV: every script's ARGV opens with the same head (src/protocol/argv-head.ts `argvHead`):
-- ARGV[1] the trackers' consumer group   ARGV[2] now (ms; '' for renew, and for a take sent behind
-- a blocking read: scriptNow then reads Redis's clock)   ARGV[3] the events stream's max length. A
-- script's own ARGV follow from ARGV[4]; a script that does not use an entry of the head still gets it.
--
-- KEYS: no key is built here. Each script gets in KEYS every key it touches (from src/keys.ts,
-- through the calls in src/protocol/ and src/enqueue.ts) and hands them on. Where a key's name is
-- in Redis (a task hash's `stream`, `tracker`; the task ids of the delayed set), the caller reads
-- it first and declares it, and the script checks that it has not changed before using it
-- (cancel, dead-letter-queued, promote-delayed: two steps). The exceptions: take finds a task id
-- in a wait set inside the script (the choice is the take: it cannot be split), so it fills the
-- key templates of src/keys.ts (`keyTemplate`, passed in ARGV) with keyOf for that task's hash and
-- lease key; preempt reads whether a preemption's holder, a tracker it finds named in Redis, is
-- alive (the liveness key's template); and a wait set's key is derived from the declared registry
-- (waitSetKey, lib-wait.lua). All
-- keys of a queue share the hash tag `{queue}`, so those keys are
-- in the same Redis Cluster slot as the declared ones.
--
-- `Q` is the queue's keys a helper may touch, built by the script from its KEYS and ARGV:
-- Q.events (stream), Q.eventsMax (its max length), Q.dead (stream), Q.delayed (sorted set),
-- Q.lastEntry (string); a script sets only those its helpers use. Every script that writes a
-- status or moves a waiting task sets the scheduling keys with schedulingQ (src/keys.ts
-- `schedulingKeys`, seven consecutive KEYS): Q.tenantWaiting, Q.tenantRunning, Q.tenantGpus (the
-- tenant accounts), Q.tenantUsage (fair-share usage), Q.tenantSettings, Q.waitSets (the registry
-- of wait sets) and Q.waitTenants (the tenant registry, lib-wait.lua). A wait set's key is derived
-- from the registry's name (waitSetKey), the second exception to "no key is built here": its name
-- holds the size, priority and tenant of its tasks, read from a task hash, and it shares the
-- registry's `{queue}` slot. The delayed set's key is derived the same way (delayedKey), for a
-- task's end to release the tasks waiting for it wherever that end is written (releaseDependents).
--
-- Statuses: FINAL, INITIAL_STATUS and TRANSITIONS below are generated from src/task-status.ts
-- when the scripts load; every status write goes through writeStatus, which refuses a transition
-- that table does not allow.
-- @generated task-statuses

-- A running service's live fields (src/service-state.ts): emptied by any status change away from a
-- started attempt, so no endpoint outlives the service that published it.
-- @generated service-fields

-- The key a template of src/keys.ts names for `id`: the template with its last `*` replaced (the id
-- comes after the prefix and the queue name, which checkName keeps free of `*` anyway).
local function keyOf(template, id)
  local slot = string.find(template, '%*[^*]*$')
  return string.sub(template, 1, slot - 1) .. id .. string.sub(template, slot + 1)
end

-- Whether a task may go from status `from` (false or nil: it has no record yet) to `to`: the same
-- answer as src/task-status.ts `canTransition`, from the same table.
local function canTransition(from, to)
  if not from then return to == INITIAL_STATUS end
  local next = TRANSITIONS[from]
  return next ~= nil and next[to] == true
end

-- Now (ms) for a script: ARGV[2], or Redis's clock when the caller sent '' (take sent behind a
-- blocking read, whose caller's clock would be a whole block old).
local function redisNowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function scriptNow()
  return tonumber(ARGV[2]) or redisNowMs()
end

-- The scheduling keys (src/keys.ts `schedulingKeys`): seven consecutive KEYS from KEYS[first], into Q.
local function schedulingQ(Q, first)
  Q.tenantWaiting, Q.tenantRunning, Q.tenantGpus = KEYS[first], KEYS[first + 1], KEYS[first + 2]
  Q.tenantUsage, Q.tenantSettings, Q.waitSets = KEYS[first + 3], KEYS[first + 4], KEYS[first + 5]
  Q.waitTenants = KEYS[first + 6]
  return Q
end

-- The priority of a task hash without the field, and the fair-share half-life when no API wrote
-- one: src/task-priority.ts DEFAULT_PRIORITY and src/fair-share.ts DEFAULT_HALF_LIFE_MS
-- (test/scheduling-policy.test.ts keeps them equal).
local DEFAULT_PRIORITY = 500
local DEFAULT_HALF_LIFE_MS = 3600000

local function tenantOf(value)
  return (value and value ~= '') and value or 'default'
end

-- Fair share: a tenant's usage is its GPU-milliseconds with a decay of half every half-life, as
-- SLURM's PriorityDecayHalfLife. Stored per tenant as `<usage>,<at>`, usage as of `at`; between two
-- changes of the tenant's running GPUs it holds `gpus` GPUs, so its usage at `now` is
-- u * d + gpus * (1 - d) * half / ln 2 with d = 2^(-(now - at) / half) (the integral of the decayed
-- GPU count). Kept exact by accruing at every change of the count (writeStatus). The half-life is
-- the HALF_LIFE_FIELD of the same hash (src/fair-share.ts HALF_LIFE_FIELD), so one read gets both.
local HALF_LIFE_FIELD = '~halfLifeMs'

local function usageAt(stored, gpus, now, half)
  local u, at = 0, now
  if stored then
    local comma = string.find(stored, ',', 1, true)
    u, at = tonumber(string.sub(stored, 1, comma - 1)), tonumber(string.sub(stored, comma + 1))
  end
  local d = 0.5 ^ (math.max(0, now - at) / half)
  return u * d + gpus * (1 - d) * half / math.log(2)
end

-- A tenant's fair-share rank (lower goes first): its usage plus what its running GPUs add if they
-- keep running (gpus * half / ln 2, their usage once steady), over its weight; so GPUs just taken
-- count at once, and history counts with its decay (src/fair-share.ts fairShareRank).
local function fairShareRank(usage, gpus, weight, half)
  return (usage + gpus * half / math.log(2)) / weight
end

-- `known`, optional: {stored usage (false when none), half-life} as this script read them already.
local function accrueUsage(Q, tenant, gpusHeld, gpusAfter, now, known)
  local f = known or redis.call('HMGET', Q.tenantUsage, tenant, HALF_LIFE_FIELD)
  local usage = usageAt(f[1] or nil, gpusHeld, now, tonumber(f[2] or '') or DEFAULT_HALF_LIFE_MS)
  if gpusAfter == 0 and usage < 1 then
    redis.call('HDEL', Q.tenantUsage, tenant)
  else
    redis.call('HSET', Q.tenantUsage, tenant, string.format('%.17g,%.0f', usage, now))
  end
end

-- The tenant accounts: per queue, per tenant, the tasks `queued` (Q.tenantWaiting), the tasks
-- `running` (Q.tenantRunning) and the GPUs those hold (Q.tenantGpus). Kept by writeStatus alone,
-- in the step that changes the status, so they cannot drift from the task hashes; a count that
-- drops to 0 is deleted, so the hashes hold only the tenants with tasks in that status. A count
-- never goes below 0: a task that was waiting or running before the accounts existed (an upgrade)
-- was never counted, so leaving that status subtracts nothing. A task hash without `tenant` counts
-- for 'default' (enqueue.ts's default tenant). A change of the running GPUs accrues the tenant's
-- fair-share usage first (accrueUsage).
-- Moves `tenant`'s count in `hash` by `by`; returns the count after (nil when `by` is 0).
local function account(hash, tenant, by)
  if by == 0 then return nil end
  local after = redis.call('HINCRBY', hash, tenant, by)
  if after <= 0 then redis.call('HDEL', hash, tenant) end
  return after
end

-- `known`: see writeStatus.
local function accountStatusChange(Q, taskKey, from, to, known)
  local waiting = (to == 'queued' and 1 or 0) - (from == 'queued' and 1 or 0)
  local running = (to == 'running' and 1 or 0) - (from == 'running' and 1 or 0)
  if waiting == 0 and running == 0 then return end
  local f = (known and known.gpus ~= nil) and { known.tenant, known.gpus }
    or redis.call('HMGET', taskKey, 'tenant', 'gpus')
  local tenant = tenantOf(f[1])
  local gpus = running * tonumber(f[2] or '0')
  account(Q.tenantWaiting, tenant, waiting)
  account(Q.tenantRunning, tenant, running)
  -- The GPU count after the change, and so the GPUs held until now (never below 0: see above).
  local after = account(Q.tenantGpus, tenant, gpus)
  local usage = known and known.half and known.usage ~= nil and { known.usage, known.half }
  if after then accrueUsage(Q, tenant, math.max(0, after - gpus), math.max(0, after), scriptNow(), usage) end
end

-- The wait sets, their registry and the tenant registry: placeWaiting, addWaiting, removeWaiting,
-- removeFromWaitSet, forgetWaitSet, listWaitSet (lib-wait.lua).
-- @include lib-wait

-- A task that ended releases the tasks submitted `after` it (enqueue.lua holds each in the delayed
-- set with an infinite time and lists its id in this task's `dependents`): each becomes due at
-- once (score 0, whatever the callers' clocks), and the trackers' sweep puts it in line
-- (promote-delayed.lua). A dependent cancelled meanwhile is dropped from the set by that sweep.
-- `known` as writeStatus's: its `dependents` (false when the hash has none) saves the read.
local function releaseDependents(Q, taskKey, known)
  local ids = known and known.dependents
  if ids == nil then ids = redis.call('HGET', taskKey, 'dependents') end
  if not ids or ids == '' then return end
  local delayed = delayedKey(Q)
  for id in string.gmatch(ids, '[^,]+') do redis.call('ZADD', delayed, 'XX', 0, id) end
end

-- The one way a script writes a task's status: HSET of `fields` (field, value pairs) and then
-- status `to`, where `from` is the status the script read, and the tenant accounts of Q (above)
-- moved from `from` to `to` (a task that leaves `queued` leaves its wait set, its `waitSet` and
-- `waitMember` cleared in the same HSET). A transition TRANSITIONS does not allow is refused with the error
-- reply ILLEGAL_TRANSITION, and a Q without the accounts with UNDECLARED_KEY; nothing is written
-- then: every script calls this before its first write to the task (take has delivered the entry
-- by then; an entry delivered and never claimed is settled like any other: see orphan.lua and
-- settle.lua). `known`, optional: fields of the task hash the caller has read already, as they
-- are once `fields` are written, so that they are not read again (every read is a call, and take,
-- enqueue and complete run once per task): `tenant` and `gpus`, `waitSet` and `waitMember` (each
-- pair or neither; a field read as missing is false); `alone`, whether the task is the only member
-- of its wait set; `dependents`, the ids of the tasks waiting for its end (false: none); `usage`
-- and `half`, the tenant's stored fair-share usage (false when none) and the half-life, read in
-- this script before any write to them. What is not known is read.
local function writeStatus(Q, taskKey, from, to, fields, known)
  if not canTransition(from, to) then
    error({ err = 'ILLEGAL_TRANSITION task status ' .. tostring(from or '(none)') .. ' -> ' .. tostring(to) ..
      ' is not in src/task-status.ts' })
  end
  if not (Q.tenantWaiting and Q.tenantRunning and Q.tenantGpus and Q.tenantUsage and Q.tenantSettings
      and Q.waitSets and Q.waitTenants) then
    error({ err = 'UNDECLARED_KEY a status write needs the scheduling keys in KEYS (schedulingQ)' })
  end
  local args = {}
  for i = 1, #(fields or {}) do args[i] = fields[i] end
  local set, member = false, false
  if from == 'queued' and to ~= 'queued' then
    local f = (known and known.waitSet ~= nil) and { known.waitSet, known.waitMember }
      or redis.call('HMGET', taskKey, 'waitSet', 'waitMember')
    if f[1] and f[1] ~= '' then
      set, member = f[1], f[2]
      for _, v in ipairs({ 'waitSet', '', 'waitMember', '' }) do args[#args + 1] = v end
    end
  end
  if from ~= to and (from == 'running' or from == 'uploading') then
    for _, name in ipairs(SERVICE_LIVE_FIELDS) do
      args[#args + 1] = name
      args[#args + 1] = ''
    end
  end
  args[#args + 1] = 'status'
  args[#args + 1] = to
  redis.call('HSET', taskKey, unpack(args))
  accountStatusChange(Q, taskKey, from, to, known)
  if set then removeFromWaitSet(Q, set, member, known and known.alone) end
  if FINAL[to] then releaseDependents(Q, taskKey, known) end
end

-- A script given a task's stream in KEYS (its caller knew it) checks before its first write that
-- it is the stream the task hash names: the script touches no other stream.
local function checkStream(taskStream, declared)
  if taskStream ~= declared then
    error({ err = 'UNDECLARED_KEY the task is on stream ' .. tostring(taskStream) .. ', not on the declared ' ..
      tostring(declared) })
  end
end

-- `priority` (a `queued` entry's): a full tracker that may preempt looks again only for a task
-- queued above its running tasks' priorities (tracker/src/preemption.ts).
local function appendEvent(Q, taskId, status, attempt, now, tracker, reason, priority)
  if priority then
    redis.call('XADD', Q.events, 'MAXLEN', '~', Q.eventsMax, '*',
      'id', taskId, 'status', status, 'attempt', attempt or '0', 'at', now,
      'tracker', tracker or '', 'reason', reason or '', 'priority', priority)
    return
  end
  redis.call('XADD', Q.events, 'MAXLEN', '~', Q.eventsMax, '*',
    'id', taskId, 'status', status, 'attempt', attempt or '0', 'at', now,
    'tracker', tracker or '', 'reason', reason or '')
end

local function removeEntry(stream, group, entryId)
  if stream and entryId and entryId ~= '' then
    redis.call('XACK', stream, group, entryId)
    redis.call('XDEL', stream, entryId)
  end
end

-- A new stream entry id from the queue-wide sequence (Q.lastEntry), so entry ids are totally
-- ordered across all of a queue's task streams (oldest-first works across GPU sizes).
local function nextEntryId(Q)
  local ms = redisNowMs()
  local seq = 0
  local last = redis.call('GET', Q.lastEntry)
  if last then
    local dash = string.find(last, '-', 1, true)
    local lastMs, lastSeq = tonumber(string.sub(last, 1, dash - 1)), tonumber(string.sub(last, dash + 1))
    if ms <= lastMs then ms, seq = lastMs, lastSeq + 1 end
  end
  local id = string.format('%.0f-%.0f', ms, seq)
  redis.call('SET', Q.lastEntry, id)
  return id
end
