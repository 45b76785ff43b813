-- Enqueues one task: its record, its stream entry, its event, its index entry and its idempotency
-- key, in one step, so nothing is ever half-written.
-- KEYS[1] task hash          KEYS[2] task stream (of the task's GPU count)
-- KEYS[3] events stream      KEYS[4] idempotency key (unused when ARGV[5] is '')
-- KEYS[5] index sorted set   KEYS[6] task-streams set   KEYS[7] last-entry (the entry id sequence)
-- ARGV[1..3] the head (lib-common.lua): group (unused), now (ms), events max length
-- ARGV[4] task id   ARGV[5] hash of the request body ('' = no idempotency key)
-- ARGV[6] idempotency key TTL (ms)   ARGV[7] GPU count
-- ARGV[8..] field, value pairs of the task record
-- Returns {'created', id, entryId} | {'exists', existingId} (same key, same body)
--       | {'conflict', existingId} (same key, other body) | {'duplicate', id} (the id is taken)
-- @include lib-common
local now, id, bodyHash = ARGV[2], ARGV[4], ARGV[5]
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
local fields = { 'id', id, 'attempt', 0, 'createdAt', now }
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
writeStatus(KEYS[1], false, 'queued', fields)
local Q = { events = KEYS[3], eventsMax = ARGV[3], lastEntry = KEYS[7] }
local entryId = redis.call('XADD', KEYS[2], nextEntryId(Q), 'id', id)
redis.call('HSET', KEYS[1], 'stream', KEYS[2], 'entry', entryId)
redis.call('ZADD', KEYS[5], now, id)
redis.call('SADD', KEYS[6], ARGV[7])
appendEvent(Q, id, 'queued', '0', now, '', '')
if bodyHash ~= '' then
  redis.call('SET', KEYS[4], id .. ' ' .. bodyHash, 'PX', ARGV[6])
end
return { 'created', id, entryId }
