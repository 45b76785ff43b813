-- Enqueues one task: its record, its stream entry, its place in its wait set, its event, its index
-- entry and its idempotency key, in one step, so nothing is ever half-written. It also writes the
-- tenant's scheduling settings (weight, running-GPU quota) and the fair-share half-life as the API
-- has them, for take to read. A tenant whose tasks waiting in the queue
-- (the tenant accounts, kept by writeStatus) have reached its limit gets nothing written; an
-- idempotent replay is answered as one first, whatever the count.
-- KEYS[1] task hash          KEYS[2] task stream (of the task's GPU count)
-- KEYS[3] events stream      KEYS[4] idempotency key (unused when ARGV[5] is '')
-- KEYS[5] index sorted set   KEYS[6] task-streams set   KEYS[7] last-entry (the entry id sequence)
-- KEYS[8..14] the scheduling keys (lib-common.lua schedulingQ)   KEYS[15] the tenant record counts
-- KEYS[16] the hash of the task it is submitted after, and KEYS[17] the delayed set (both only
--          when the record has an `after` field, and not when the caller knows that task ended and
--          left Redis: then it waits for nothing)
-- ARGV[1..3] the head (lib-common.lua): group (unused), now (ms), events max length
-- ARGV[4] task id   ARGV[5] hash of the request body ('' = no idempotency key)
-- ARGV[6] idempotency key TTL (ms)   ARGV[7] GPU count   ARGV[8] tenant
-- ARGV[9] the most tasks the tenant may have waiting in the queue ('' = no limit)
-- ARGV[10] the tenant's settings (`<weight>,<max running GPUs or ''>`; '' = leave as they are)
-- ARGV[11] the fair-share half-life (ms; '' = leave as it is)
-- ARGV[12..] field, value pairs of the task record (its `tenant` is ARGV[8])
-- A task submitted `after` another (of this queue and tenant, still not ended) waits for that one's
-- end: no stream entry, no wait set, but `queued` (counted as waiting) in the delayed set with an
-- infinite time, its id listed in the other's `dependents`; the other's end makes it due
-- (lib-common.lua releaseDependents). After a task that has ended, it is enqueued as any other.
-- Returns {'created', id, entryId} ('' when it waits for another) | {'exists', existingId} (same key, same body)
--       | {'conflict', existingId} (same key, other body) | {'duplicate', id} (the id is taken)
--       | {'quota', limit, waiting} (the tenant has `waiting` >= `limit` tasks queued here)
--       | {'after-missing', afterId} (no task of that id in this queue for this tenant)
-- @include lib-common
local now, id, bodyHash, tenant, limit = ARGV[2], ARGV[4], ARGV[5], ARGV[8], ARGV[9]
if bodyHash ~= '' then
  local existing = redis.call('GET', KEYS[4])
  if existing then
    local sep = string.find(existing, ' ', 1, true)
    local existingId = string.sub(existing, 1, sep - 1)
    if string.sub(existing, sep + 1) == bodyHash then return { 'exists', existingId } end
    return { 'conflict', existingId }
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return { 'duplicate', id } end
if limit ~= '' then
  local waiting = tonumber(redis.call('HGET', KEYS[8], tenant) or '0')
  if waiting >= tonumber(limit) then return { 'quota', limit, tostring(waiting) } end
end
-- The record's fields first (no write yet): the `after` they may name is checked before any write.
local fields = { 'id', id, 'attempt', 0, 'createdAt', now }
local priority, request, after = nil, nil, nil
for i = 12, #ARGV do
  fields[#fields + 1] = ARGV[i]
  if i % 2 == 0 then
    local name = ARGV[i]
    if name == 'priority' then priority = ARGV[i + 1]
    elseif name == 'gpuRequest' then request = ARGV[i + 1]
    elseif name == 'after' then after = ARGV[i + 1] end
  end
end
local held = false
if after and KEYS[16] then
  local p = redis.call('HMGET', KEYS[16], 'status', 'tenant')
  if not p[1] or tenantOf(p[2]) ~= tenant then return { 'after-missing', after } end
  held = not FINAL[p[1]]
end
local Q = schedulingQ({ events = KEYS[3], eventsMax = ARGV[3], lastEntry = KEYS[7] }, 8)
if ARGV[10] ~= '' then redis.call('HSET', Q.tenantSettings, tenant, ARGV[10]) end
if ARGV[11] ~= '' then redis.call('HSET', Q.tenantUsage, HALF_LIFE_FIELD, ARGV[11]) end
-- The entry and the wait-set place first, so the record is written in one HSET (every call counts:
-- enqueue runs once per task). Its tenant and GPU count are known: writeStatus does not read them.
local entryId = ''
if held then
  redis.call('ZADD', KEYS[17], 'inf', id)
  local others = redis.call('HGET', KEYS[16], 'dependents')
  redis.call('HSET', KEYS[16], 'dependents', (others and others ~= '') and (others .. ',' .. id) or id)
else
  entryId = redis.call('XADD', KEYS[2], nextEntryId(Q), 'id', id)
end
fields[#fields + 1], fields[#fields + 2], fields[#fields + 3], fields[#fields + 4] = 'stream', KEYS[2], 'entry', entryId
if not held then
  for _, v in ipairs(placeWaiting(Q, { id, ARGV[7], priority, tenant, entryId, KEYS[2], request })) do fields[#fields + 1] = v end
end
writeStatus(Q, KEYS[1], false, 'queued', fields, { tenant = tenant, gpus = ARGV[7] })
redis.call('ZADD', KEYS[5], now, id)
redis.call('HINCRBY', KEYS[15], tenant, 1)
redis.call('SADD', KEYS[6], ARGV[7])
appendEvent(Q, id, 'queued', '0', now, '', '', priority or tostring(DEFAULT_PRIORITY))
if bodyHash ~= '' then
  redis.call('SET', KEYS[4], id .. ' ' .. bodyHash, 'PX', ARGV[6])
end
return { 'created', id, entryId }
