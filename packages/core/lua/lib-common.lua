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
-- (waitSetKey below). All
-- keys of a queue share the hash tag `{queue}`, so those keys are
-- in the same Redis Cluster slot as the declared ones.
--
-- `Q` is the queue's keys a helper may touch, built by the script from its KEYS and ARGV:
-- Q.events (stream), Q.eventsMax (its max length), Q.dead (stream), Q.delayed (sorted set),
-- Q.lastEntry (string); a script sets only those its helpers use. Every script that writes a
-- status or moves a waiting task sets the scheduling keys with schedulingQ (src/keys.ts
-- `schedulingKeys`, six consecutive KEYS): Q.tenantWaiting, Q.tenantRunning, Q.tenantGpus (the
-- tenant accounts), Q.tenantUsage (fair-share usage), Q.tenantSettings and Q.waitSets (the
-- registry of wait sets). A wait set's key is derived from the registry's name (waitSetKey), the
-- second exception to "no key is built here": its name holds the size, priority and tenant of its
-- tasks, read from a task hash, and it shares the registry's `{queue}` slot.
--
-- Statuses: FINAL, INITIAL_STATUS and TRANSITIONS below are generated from src/task-status.ts
-- when the scripts load; every status write goes through writeStatus, which refuses a transition
-- that table does not allow.
-- @generated task-statuses
--
-- Failure codes: FAILURE below (code → code) is generated from src/task-failures.ts, so a script
-- writes `FAILURE.CANCELLED` into a task's `errorCode` and a misspelt code is nil (an error).
-- @generated task-failures

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

-- The scheduling keys (src/keys.ts `schedulingKeys`): six consecutive KEYS from KEYS[first], into Q.
local function schedulingQ(Q, first)
  Q.tenantWaiting, Q.tenantRunning, Q.tenantGpus = KEYS[first], KEYS[first + 1], KEYS[first + 2]
  Q.tenantUsage, Q.tenantSettings, Q.waitSets = KEYS[first + 3], KEYS[first + 4], KEYS[first + 5]
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

local function accrueUsage(Q, tenant, gpusHeld, gpusAfter, now)
  local f = redis.call('HMGET', Q.tenantUsage, tenant, HALF_LIFE_FIELD)
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

local function accountStatusChange(Q, taskKey, from, to)
  local waiting = (to == 'queued' and 1 or 0) - (from == 'queued' and 1 or 0)
  local running = (to == 'running' and 1 or 0) - (from == 'running' and 1 or 0)
  if waiting == 0 and running == 0 then return end
  local f = redis.call('HMGET', taskKey, 'tenant', 'gpus')
  local tenant = tenantOf(f[1])
  local gpus = running * tonumber(f[2] or '0')
  account(Q.tenantWaiting, tenant, waiting)
  account(Q.tenantRunning, tenant, running)
  -- The GPU count after the change, and so the GPUs held until now (never below 0: see above).
  local after = account(Q.tenantGpus, tenant, gpus)
  if after then accrueUsage(Q, tenant, math.max(0, after - gpus), math.max(0, after), scriptNow()) end
end

-- The wait sets: a task that waits to be taken (status `queued`, with an entry no tracker holds,
-- not in its retry backoff) is a member of the wait set of its size, priority, kind and tenant,
-- named `<gpus>:<priority>:<kind>:<tenant>` (src/keys.ts waitSetName; kind 'r' when its entry is in
-- a requeued stream: it goes first within its priority, else 'w') and listed in Q.waitSets (a
-- sorted set, score waitClassScore: the sets of the class taken first come first) while not empty. Its member is `<entry order>:<task id>`, the entry order being its entry id
-- zero-padded so that members compare as strings in entry order; every score is 0, so a set is in
-- entry order and ZLEXCOUNT counts the members before one (the API's queue positions). The task
-- hash keeps the set's name and its member (`waitSet`, `waitMember`) so that any script can remove
-- it. take.lua picks among the sets' heads (lib-order.lua).
-- waitSetKey(Q, name): the key of the wait set `name`, from the registry's key (src/keys.ts waitSetKeyLua).
-- @generated wait-set-key

local function waitOrder(entryId)
  local dash = string.find(entryId, '-', 1, true)
  return string.format('%015.0f-%010.0f', tonumber(string.sub(entryId, 1, dash - 1)),
    tonumber(string.sub(entryId, dash + 1)))
end

-- A wait set's score in the registry: lower for a class taken first (higher priority; requeued
-- before waiting within a priority), so the registry lists classes in the scheduling order.
local function waitClassScore(priority, kind)
  return -(tonumber(priority) * 2 + (kind == 'r' and 1 or 0))
end

local function removeFromWaitSet(Q, name, member)
  local key = waitSetKey(Q, name)
  redis.call('ZREM', key, member)
  if redis.call('EXISTS', key) == 0 then redis.call('ZREM', Q.waitSets, name) end
end

local function removeWaiting(Q, taskKey)
  local f = redis.call('HMGET', taskKey, 'waitSet', 'waitMember')
  if (not f[1]) or f[1] == '' then return end
  removeFromWaitSet(Q, f[1], f[2])
  redis.call('HSET', taskKey, 'waitSet', '', 'waitMember', '')
end

-- Puts a task into its wait set. `f`, when the caller knows them: {id, gpus, priority, tenant, entry,
-- stream} of a task in no wait set (enqueue); else they are read, and a place it had is left first.
local function addWaiting(Q, taskKey, f)
  if not f then
    removeWaiting(Q, taskKey)
    f = redis.call('HMGET', taskKey, 'id', 'gpus', 'priority', 'tenant', 'entry', 'stream')
  end
  local kind = string.find(f[6] or '', '%:requeued%:%d+$') and 'r' or 'w'
  local name = string.format('%s:%s:%s:%s', f[2] or '0', f[3] or DEFAULT_PRIORITY, kind, tenantOf(f[4]))
  local member = string.format('%s:%s', waitOrder(f[5]), f[1])
  redis.call('ZADD', waitSetKey(Q, name), 0, member)
  redis.call('ZADD', Q.waitSets, waitClassScore(f[3] or DEFAULT_PRIORITY, kind), name)
  redis.call('HSET', taskKey, 'waitSet', name, 'waitMember', member)
end

-- The one way a script writes a task's status: HSET of `fields` (field, value pairs) and then
-- status `to`, where `from` is the status the script read, and the tenant accounts of Q (above)
-- moved from `from` to `to` (a task that leaves `queued` leaves its wait set). A transition TRANSITIONS does not allow is refused with the error
-- reply ILLEGAL_TRANSITION, and a Q without the accounts with UNDECLARED_KEY; nothing is written
-- then: every script calls this before its first write to the task (take has delivered the entry
-- by then; an entry delivered and never claimed is settled like any other: see orphan.lua and
-- settle.lua).
local function writeStatus(Q, taskKey, from, to, fields)
  if not canTransition(from, to) then
    error({ err = 'ILLEGAL_TRANSITION task status ' .. tostring(from or '(none)') .. ' -> ' .. tostring(to) ..
      ' is not in src/task-status.ts' })
  end
  if not (Q.tenantWaiting and Q.tenantRunning and Q.tenantGpus and Q.tenantUsage and Q.tenantSettings
      and Q.waitSets) then
    error({ err = 'UNDECLARED_KEY a status write needs the scheduling keys in KEYS (schedulingQ)' })
  end
  local args = {}
  for i = 1, #(fields or {}) do args[i] = fields[i] end
  args[#args + 1] = 'status'
  args[#args + 1] = to
  redis.call('HSET', taskKey, unpack(args))
  accountStatusChange(Q, taskKey, from, to)
  if from == 'queued' and to ~= 'queued' then removeWaiting(Q, taskKey) end
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

-- The reply of a claim (claimEntry, called by take), one shape:
-- {kind, taskId, streamKey, entryId, detail, suspect, field1, value1, ...}
-- kind 'claimed': detail the attempt, suspect '1' or '', then the task hash (HGETALL of taskKey);
-- 'dead': detail the reason; 'gone' (ended or superseded: entry removed) and 'held' (another
-- tracker's lease is live): detail ''. Parsed by src/redis-replies.ts `claimReply`.
local function claimReply(kind, taskId, stream, entryId, detail, suspect, taskKey)
  local reply = { kind, taskId, stream, entryId, detail or '', suspect or '' }
  if taskKey then
    for _, v in ipairs(redis.call('HGETALL', taskKey)) do reply[#reply + 1] = v end
  end
  return reply
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

-- The maxAttempts of a task whose record lacks the field: DEFAULT_MAX_ATTEMPTS of src/task-spec.ts
-- (enqueue writes that into every record; test/max-attempts-default.test.ts keeps the two equal).
local DEFAULT_MAX_ATTEMPTS = 3

-- Ends a task `dead` (from status `from`) with failure code `code` (FAILURE) and puts it in the
-- dead-letter stream (Q: events, dead, the accounts).
local function deadLetter(Q, taskKey, leaseKey, from, taskId, stream, group, entryId, attempt, now, tracker, reason, code)
  writeStatus(Q, taskKey, from, 'dead', { 'error', reason, 'errorCode', code, 'endedAt', now })
  redis.call('DEL', leaseKey)
  removeEntry(stream, group, entryId)
  redis.call('XADD', Q.dead, '*', 'id', taskId, 'reason', reason, 'at', now, 'attempt', attempt or '0')
  appendEvent(Q, taskId, 'dead', attempt, now, tracker, reason)
end

-- Fencing: the task hash's `leaseToken` names the current attempt; only its holder may change the
-- task. The lease key (a copy of the token with a TTL) says the holder is alive: while it exists
-- nobody else claims the task.
-- Attempts: `attempt` counts the executions started; `freeAttempts` those that do not count against
-- `maxAttempts` (handed back by a tracker shutting down, or ended by a failure that is retried).
-- `maxAttempts` is what the user asked for and never changes.
-- Claims the task of one delivered entry of `stream` for `consumer` (Q: events, dead, the
-- accounts). Returns its claimReply: 'claimed' | 'gone' | 'held' | 'dead'.
local function claimEntry(Q, taskKey, leaseKey, stream, group, entryId, taskId, consumer, now, leaseMs, token)
  local f = redis.call('HMGET', taskKey, 'status', 'attempt', 'maxAttempts', 'entry', 'cancelRequested', 'cancelReason',
    'suspect', 'freeAttempts', 'deaths')
  local status = f[1]
  if (not status) or FINAL[status] or f[4] ~= entryId then
    removeEntry(stream, group, entryId)
    return claimReply('gone', taskId, stream, entryId)
  end
  if f[5] and f[5] ~= '' then
    -- Cancelled while an earlier attempt ran, and that attempt never finished: it ends here.
    writeStatus(Q, taskKey, status, 'cancelled',
      { 'endedAt', now, 'leaseToken', '', 'error', f[6] or 'cancelled', 'errorCode', FAILURE.CANCELLED })
    redis.call('DEL', leaseKey)
    removeEntry(stream, group, entryId)
    appendEvent(Q, taskId, 'cancelled', f[2], now, consumer, f[6] or '')
    return claimReply('gone', taskId, stream, entryId)
  end
  if redis.call('EXISTS', leaseKey) == 1 then
    return claimReply('held', taskId, stream, entryId)
  end
  local attempt = tonumber(f[2] or '0') + 1
  local maxAttempts = tonumber(f[3] or DEFAULT_MAX_ATTEMPTS)
  local free = tonumber(f[8] or '0')
  if attempt - free > maxAttempts then
    local reason = 'attempts exhausted: delivered ' .. (attempt - 1) .. ' times without completing (maxAttempts ' ..
      maxAttempts .. (free > 0 and (', not counting ' .. free .. ' handed back or retried') or '') .. ')'
    deadLetter(Q, taskKey, leaseKey, status, taskId, stream, group, entryId, tostring(attempt - 1), now, consumer, reason,
      FAILURE.ATTEMPTS_EXHAUSTED)
    return claimReply('dead', taskId, stream, entryId, reason)
  end
  local suspect = f[7] or ''
  local fields = {}
  if status == 'running' or status == 'uploading' then
    -- An attempt abandoned without being requeued (its tracker was not seen dead): one more death.
    local deaths = tonumber(f[9] or '0') + 1
    fields = { 'deaths', deaths }
    if deaths >= 2 then suspect = '1' end
  end
  for _, v in ipairs({ 'attempt', attempt, 'tracker', consumer, 'leaseToken', token, 'suspect', suspect,
    'startedAt', now, 'error', '', 'errorCode', '', 'exitCode', '', 'signal', '', 'endedAt', '', 'gpuIds', '[]' }) do
    fields[#fields + 1] = v
  end
  writeStatus(Q, taskKey, status, 'running', fields)
  redis.call('SET', leaseKey, token, 'PX', leaseMs)
  appendEvent(Q, taskId, 'running', tostring(attempt), now, consumer, '')
  return claimReply('claimed', taskId, stream, entryId, tostring(attempt), suspect, taskKey)
end

-- Puts a claimed task back in its queue as a fresh entry of `toStream` (nil: `stream`, the stream
-- its current entry is on, which the script declared; the requeued stream puts it before every
-- waiting task), or, with delayMs > 0, in Q.delayed until its time comes: status queued, lease
-- cleared, old entry removed (Q: events, lastEntry, the accounts, and delayed when delayMs > 0).
-- `fields` (field, value pairs, may be nil) are written with the status, under the requeue's own.
-- `mode`: 'count' the attempt counts against maxAttempts; 'free' it does not (a graceful hand-back,
-- a retry); 'undo' it never started (the attempt number goes back).
local function requeueTask(Q, taskKey, leaseKey, stream, group, now, reason, mode, delayMs, toStream, fields)
  local f = redis.call('HMGET', taskKey, 'id', 'attempt', 'tracker', 'status', 'entry', 'priority')
  local all = {}
  for i = 1, #(fields or {}) do all[i] = fields[i] end
  for _, v in ipairs({ 'leaseToken', '', 'tracker', '', 'error', reason, 'pid', '', 'pidStartTime', '',
    'gpuIds', '[]' }) do
    all[#all + 1] = v
  end
  writeStatus(Q, taskKey, f[4], 'queued', all)
  local attempt = f[2]
  if mode == 'free' then redis.call('HINCRBY', taskKey, 'freeAttempts', 1) end
  if mode == 'undo' then attempt = tostring(redis.call('HINCRBY', taskKey, 'attempt', -1)) end
  redis.call('DEL', leaseKey)
  removeEntry(stream, group, f[5])
  local to = toStream or stream
  if tonumber(delayMs) > 0 then
    redis.call('HSET', taskKey, 'entry', '', 'stream', to, 'notBefore', tonumber(now) + tonumber(delayMs))
    redis.call('ZADD', Q.delayed, tonumber(now) + tonumber(delayMs), f[1])
  else
    redis.call('HSET', taskKey, 'stream', to, 'entry', redis.call('XADD', to, nextEntryId(Q), 'id', f[1]))
    addWaiting(Q, taskKey)
  end
  appendEvent(Q, f[1], 'queued', attempt, now, f[3], reason, f[6] or tostring(DEFAULT_PRIORITY))
end

-- Moves an entry that was delivered but never claimed (its task still `queued`) to the end of the
-- requeued stream `toStream`: it was first in line when it was read, and goes back there (Q: lastEntry,
-- the scheduling keys).
local function returnUnclaimed(Q, taskKey, taskId, stream, group, entryId, toStream)
  removeEntry(stream, group, entryId)
  redis.call('HSET', taskKey, 'stream', toStream, 'entry', redis.call('XADD', toStream, nextEntryId(Q), 'id', taskId))
  addWaiting(Q, taskKey)
end

-- Requeues, before every waiting task, a task whose tracker died (or was cut off) while it ran;
-- `stream` is the stream its entry is on. One death is no evidence against a task: it becomes a
-- suspect (runs alone next time) only after the second death it was present at, or a death where
-- it ran alone on its tracker (`alone` '1'). The abandoned attempt counts against maxAttempts
-- (Q: events, lastEntry, the accounts).
local function requeueOrphan(Q, taskKey, leaseKey, stream, group, now, reason, alone, toStream)
  local deaths = tonumber(redis.call('HGET', taskKey, 'deaths') or '0') + 1
  local fields = { 'deaths', deaths }
  if deaths >= 2 or alone == '1' then
    fields[3], fields[4] = 'suspect', '1'
  end
  requeueTask(Q, taskKey, leaseKey, stream, group, now, reason, 'count', 0, toStream, fields)
end
