-- Enqueues one task: its record, its stream entry, its event, its index entry and its idempotency
-- key, in one step, so nothing is ever half-written.
-- KEYS[1] task hash          KEYS[2] task stream (of the task's GPU count)
-- KEYS[3] events stream      KEYS[4] idempotency key (unused when ARGV[3] is '')
-- KEYS[5] index sorted set   KEYS[6] task-streams set   KEYS[7] last-entry (the entry id sequence)
-- ARGV[1] task id            ARGV[2] now (ms)
-- ARGV[3] hash of the request body ('' = no idempotency key)
-- ARGV[4] idempotency key TTL (ms)   ARGV[5] events stream max length   ARGV[6] GPU count
-- ARGV[7..] field, value pairs of the task record
-- Returns {'created', id, entryId} | {'exists', existingId} (same key, same body)
--       | {'conflict', existingId} (same key, other body) | {'duplicate', id} (the id is taken)
-- @include lib-common
local id, now = ARGV[1], ARGV[2]
if ARGV[3] ~= '' then
  local existing = redis.call('GET', KEYS[4])
  if existing then
    local sep = string.find(existing, ' ', 1, true)
    local existingId = string.sub(existing, 1, sep - 1)
    if string.sub(existing, sep + 1) == ARGV[3] then return { 'exists', existingId } end
    return { 'conflict', existingId }
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return { 'duplicate', id } end
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
local Q = { events = KEYS[3], eventsMax = ARGV[5], lastEntry = KEYS[7] }
local entryId = redis.call('XADD', KEYS[2], nextEntryId(Q), 'id', id)
redis.call('HSET', KEYS[1], 'id', id, 'status', 'queued', 'attempt', 0, 'createdAt', now, 'stream', KEYS[2], 'entry', entryId, unpack(fields))
redis.call('ZADD', KEYS[5], now, id)
redis.call('SADD', KEYS[6], ARGV[6])
appendEvent(Q, id, 'queued', '0', now, '', '')
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[4], id .. ' ' .. ARGV[3], 'PX', ARGV[4])
end
return { 'created', id, entryId }
