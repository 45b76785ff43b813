-- Moves tasks whose retry backoff has passed from the queue's delayed set into their streams.
-- KEYS[1] delayed sorted set
-- ARGV[1] key base   ARGV[2] now (ms)   ARGV[3] most to move
-- Returns the number of tasks moved.
-- @include lib-common
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local taskKey = ARGV[1] .. ':task:' .. id
  local f = redis.call('HMGET', taskKey, 'status', 'stream')
  if f[1] == 'queued' and f[2] then
    redis.call('HSET', taskKey, 'entry', redis.call('XADD', f[2], nextEntryId(ARGV[1]), 'id', id), 'notBefore', '')
    moved = moved + 1
  end
end
return moved
