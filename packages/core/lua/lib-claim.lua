-- Failure codes, dead letters and claims, included after lib-common.lua by the scripts that use them
-- (take, dead-letter-queued, cancel), so that the others do not build what they never call: every
-- function a script defines is built at each of its runs.
--
-- Failure codes: FAILURE below (code → code) is generated from src/task-failures.ts, so a script
-- writes `FAILURE.CANCELLED` into a task's `errorCode` and a misspelt code is nil (an error).
-- @generated task-failures

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

-- Fencing: the task hash's `leaseToken` names the current attempt; only its holder may change the
-- task. The lease key (a copy of the token with a TTL) says the holder is alive: while it exists
-- nobody else claims the task.
-- Attempts: `attempt` counts the executions started; `freeAttempts` those that do not count against
-- `maxAttempts` (handed back by a tracker shutting down, or ended by a failure that is retried).
-- `maxAttempts` is what the user asked for and never changes.
-- What a claim reads of a task hash, in one HMGET (take checks it before it claims):
-- {status, attempt, maxAttempts, entry, cancelRequested, cancelReason, suspect, freeAttempts,
-- deaths, stream, waitSet, waitMember, tenant, gpus}.
local function readClaimFields(taskKey)
  return redis.call('HMGET', taskKey, 'status', 'attempt', 'maxAttempts', 'entry', 'cancelRequested', 'cancelReason',
    'suspect', 'freeAttempts', 'deaths', 'stream', 'waitSet', 'waitMember', 'tenant', 'gpus')
end

-- Claims the task of one delivered entry of `stream` for `consumer` (Q: events, dead, the
-- accounts); `f`: its readClaimFields, read since the caller's last write to it (nil: read here);
-- `more`, optional: what else the caller knows (writeStatus `known`: alone, usage, half).
-- Returns its claimReply: 'claimed' | 'gone' | 'held' | 'dead'.
local function claimEntry(Q, taskKey, leaseKey, stream, group, entryId, taskId, consumer, now, leaseMs, token, f, more)
  f = f or readClaimFields(taskKey)
  local known = { waitSet = f[11], waitMember = f[12], tenant = f[13], gpus = f[14] }
  for k, v in pairs(more or {}) do known[k] = v end
  local status = f[1]
  if (not status) or FINAL[status] or f[4] ~= entryId then
    removeEntry(stream, group, entryId)
    return claimReply('gone', taskId, stream, entryId)
  end
  if f[5] and f[5] ~= '' then
    -- Cancelled while an earlier attempt ran, and that attempt never finished: it ends here.
    writeStatus(Q, taskKey, status, 'cancelled',
      { 'endedAt', now, 'leaseToken', '', 'error', f[6] or 'cancelled', 'errorCode', FAILURE.CANCELLED }, known)
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
    -- The service the abandoned attempt ran is gone with it: its endpoints go (service-state.ts).
    for _, name in ipairs(SERVICE_LIVE_FIELDS) do
      fields[#fields + 1] = name
      fields[#fields + 1] = ''
    end
  end
  for _, v in ipairs({ 'attempt', attempt, 'tracker', consumer, 'leaseToken', token, 'suspect', suspect,
    'startedAt', now, 'error', '', 'errorCode', '', 'exitCode', '', 'signal', '', 'endedAt', '', 'gpuIds', '[]' }) do
    fields[#fields + 1] = v
  end
  writeStatus(Q, taskKey, status, 'running', fields, known)
  redis.call('SET', leaseKey, token, 'PX', leaseMs)
  appendEvent(Q, taskId, 'running', tostring(attempt), now, consumer, '')
  return claimReply('claimed', taskId, stream, entryId, tostring(attempt), suspect, taskKey)
end
