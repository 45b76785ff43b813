-- Putting a task back in line, included after lib-common.lua by the scripts that do (release,
-- orphan, settle), so that the others do not build what they never call: every function a script
-- defines is built at each of its runs.

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
