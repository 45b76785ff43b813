-- Shared helpers, included at the top of the scripts that say `-- @include lib-common`.
-- No key is built here: each script gets its keys in KEYS (from src/keys.ts, through the calls in
-- src/protocol/) and hands them on. `Q` is the queue's keys a helper may touch, built by the
-- script from its KEYS and ARGV: Q.events (stream), Q.eventsMax (its max length), Q.dead
-- (stream), Q.delayed (sorted set), Q.lastEntry (string); a script sets only those its helpers use.
-- The one exception: take, claim-read, promote-delayed and cancel find a task id or a tracker name
-- in Redis, so they cannot declare that task's (or tracker's) keys up front; they fill a key
-- template from src/keys.ts (`keyTemplate`, passed in ARGV) with keyOf.

-- The key a template of src/keys.ts names for `id`: the template with its last `*` replaced (the id
-- comes after the prefix and the queue name, which checkName keeps free of `*` anyway).
local function keyOf(template, id)
  local slot = string.find(template, '%*[^*]*$')
  return string.sub(template, 1, slot - 1) .. id .. string.sub(template, slot + 1)
end

local function appendEvent(Q, taskId, status, attempt, now, tracker, reason)
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

-- Redis's clock in milliseconds.
local function redisNowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The reply of a claim that took a task from a stream (take, claim-read):
-- {'claimed', taskId, attempt, streamKey, entryId, suspect, field1, value1, ...} (the task hash).
local function claimedReply(taskKey, taskId, attempt, stream, entryId, suspect)
  local reply = { 'claimed', taskId, attempt, stream, entryId, suspect }
  for _, v in ipairs(redis.call('HGETALL', taskKey)) do reply[#reply + 1] = v end
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

local FINAL = { succeeded = true, failed = true, timed_out = true, cancelled = true, dead = true }

local function deadLetter(Q, taskKey, leaseKey, taskId, stream, group, entryId, attempt, now, tracker, reason)
  redis.call('HSET', taskKey, 'status', 'dead', 'error', reason, 'endedAt', now)
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
-- Claims the task of one delivered entry for `consumer` (Q: events, dead). Returns a reply table:
-- {'claimed', taskId, attempt, suspect ('1' or '')} | {'gone', taskId} | {'held', taskId} | {'dead', taskId, reason}
local function claimEntry(Q, taskKey, leaseKey, stream, group, entryId, taskId, consumer, now, leaseMs, token)
  local f = redis.call('HMGET', taskKey, 'status', 'attempt', 'maxAttempts', 'entry', 'cancelRequested', 'cancelReason',
    'suspect', 'freeAttempts')
  local status = f[1]
  if (not status) or FINAL[status] or f[4] ~= entryId then
    removeEntry(stream, group, entryId)
    return { 'gone', taskId }
  end
  if f[5] and f[5] ~= '' then
    -- Cancelled while an earlier attempt ran, and that attempt never finished: it ends here.
    redis.call('HSET', taskKey, 'status', 'cancelled', 'endedAt', now, 'leaseToken', '', 'error', f[6] or 'cancelled')
    redis.call('DEL', leaseKey)
    removeEntry(stream, group, entryId)
    appendEvent(Q, taskId, 'cancelled', f[2], now, consumer, f[6] or '')
    return { 'gone', taskId }
  end
  if redis.call('EXISTS', leaseKey) == 1 then
    return { 'held', taskId }
  end
  local attempt = tonumber(f[2] or '0') + 1
  local maxAttempts = tonumber(f[3] or DEFAULT_MAX_ATTEMPTS)
  local free = tonumber(f[8] or '0')
  if attempt - free > maxAttempts then
    local reason = 'attempts exhausted: delivered ' .. (attempt - 1) .. ' times without completing (maxAttempts ' ..
      maxAttempts .. (free > 0 and (', not counting ' .. free .. ' handed back or retried') or '') .. ')'
    deadLetter(Q, taskKey, leaseKey, taskId, stream, group, entryId, tostring(attempt - 1), now, consumer, reason)
    return { 'dead', taskId, reason }
  end
  local suspect = f[7] or ''
  if status == 'running' or status == 'uploading' then
    -- An attempt abandoned without being requeued (its tracker was not seen dead): one more death.
    if redis.call('HINCRBY', taskKey, 'deaths', 1) >= 2 then suspect = '1' end
  end
  redis.call('HSET', taskKey, 'status', 'running', 'attempt', attempt, 'tracker', consumer, 'leaseToken', token, 'suspect', suspect,
    'startedAt', now, 'error', '', 'exitCode', '', 'signal', '', 'endedAt', '', 'gpuIds', '[]')
  redis.call('SET', leaseKey, token, 'PX', leaseMs)
  appendEvent(Q, taskId, 'running', tostring(attempt), now, consumer, '')
  return { 'claimed', taskId, tostring(attempt), suspect }
end

-- Puts a claimed task back in its queue as a fresh entry of `toStream` (nil: its own stream; the
-- requeued stream puts it before every waiting task), or, with delayMs > 0, in Q.delayed until its
-- time comes: status queued, lease cleared, old entry removed (Q: events, lastEntry, and delayed
-- when delayMs > 0).
-- `mode`: 'count' the attempt counts against maxAttempts; 'free' it does not (a graceful hand-back,
-- a retry); 'undo' it never started (the attempt number goes back).
local function requeueTask(Q, taskKey, leaseKey, group, now, reason, mode, delayMs, toStream)
  local f = redis.call('HMGET', taskKey, 'id', 'attempt', 'tracker', 'stream', 'entry')
  redis.call('HSET', taskKey, 'status', 'queued', 'leaseToken', '', 'tracker', '', 'error', reason,
    'pid', '', 'pidStartTime', '', 'gpuIds', '[]')
  local attempt = f[2]
  if mode == 'free' then redis.call('HINCRBY', taskKey, 'freeAttempts', 1) end
  if mode == 'undo' then attempt = tostring(redis.call('HINCRBY', taskKey, 'attempt', -1)) end
  redis.call('DEL', leaseKey)
  removeEntry(f[4], group, f[5])
  local stream = toStream or f[4]
  if tonumber(delayMs) > 0 then
    redis.call('HSET', taskKey, 'entry', '', 'stream', stream, 'notBefore', tonumber(now) + tonumber(delayMs))
    redis.call('ZADD', Q.delayed, tonumber(now) + tonumber(delayMs), f[1])
  else
    redis.call('HSET', taskKey, 'stream', stream, 'entry', redis.call('XADD', stream, nextEntryId(Q), 'id', f[1]))
  end
  appendEvent(Q, f[1], 'queued', attempt, now, f[3], reason)
end

-- Moves an entry that was delivered but never claimed (its task still `queued`) to the end of the
-- requeued stream `toStream`: it was first in line when it was read, and goes back there (Q: lastEntry).
local function returnUnclaimed(Q, taskKey, taskId, stream, group, entryId, toStream)
  removeEntry(stream, group, entryId)
  redis.call('HSET', taskKey, 'stream', toStream, 'entry', redis.call('XADD', toStream, nextEntryId(Q), 'id', taskId))
end

-- Requeues, before every waiting task, a task whose tracker died (or was cut off) while it ran.
-- One death is no evidence against a task: it becomes a suspect (runs alone next time) only after
-- the second death it was present at, or a death where it ran alone on its tracker (`alone` '1').
-- The abandoned attempt counts against maxAttempts (Q: events, lastEntry).
local function requeueOrphan(Q, taskKey, leaseKey, group, now, reason, alone, toStream)
  local deaths = redis.call('HINCRBY', taskKey, 'deaths', 1)
  if deaths >= 2 or alone == '1' then redis.call('HSET', taskKey, 'suspect', '1') end
  requeueTask(Q, taskKey, leaseKey, group, now, reason, 'count', 0, toStream)
end
