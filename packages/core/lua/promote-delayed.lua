-- Moves tasks whose retry backoff has passed from the queue's delayed set into their streams.
-- KEYS[1] delayed sorted set   KEYS[2] last-entry (the entry id sequence)
-- ARGV[1] the key template of a task hash (keys.ts `keyTemplate`): the tasks are found in the
--         delayed set, so their hashes cannot be declared in KEYS
-- ARGV[2] now (ms)   ARGV[3] most to move
-- Returns the number of tasks moved.
-- @include lib-common
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local taskKey = keyOf(ARGV[1], id)
  local f = redis.call('HMGET', taskKey, 'status', 'stream')
  if f[1] == 'queued' and f[2] then
    redis.call('HSET', taskKey, 'entry', redis.call('XADD', f[2], nextEntryId({ lastEntry = KEYS[2] }), 'id', id), 'notBefore', '')
    moved = moved + 1
  end
end
return moved
