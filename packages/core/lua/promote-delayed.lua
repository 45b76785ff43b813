-- Moves tasks whose retry backoff has passed from the queue's delayed set into their streams and
-- their wait sets.
-- Two steps: the caller reads the due task ids and each one's stream (the task hash's `stream`)
-- and declares the task hashes and the streams; this script checks again that each task is still
-- in the set and due, and moves it only if its stream is still the declared one (a task whose
-- stream changed meanwhile stays in the set for the next call).
-- KEYS[1] delayed sorted set   KEYS[2] last-entry (the entry id sequence)
-- KEYS[3..9] the scheduling keys (lib-common.lua schedulingQ)
-- KEYS[9+i] the hash of task i (i = 1..n)   KEYS[10+n..] the streams the caller read
-- ARGV[1..3] the head (lib-common.lua): group (unused), now (ms), events max length (unused)
-- ARGV[4] n   ARGV[4+i] the id of task i   ARGV[4+n+i] the index in KEYS of task i's stream as
--         the caller read it (0: it read none)
-- Returns the number of tasks moved.
-- @include lib-common
local now, n = tonumber(ARGV[2]), tonumber(ARGV[4])
local Q = schedulingQ({ lastEntry = KEYS[2] }, 3)
local moved = 0
for i = 1, n do
  local id, taskKey, at = ARGV[4 + i], KEYS[9 + i], tonumber(ARGV[4 + n + i])
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) <= now then
    local f = redis.call('HMGET', taskKey, 'status', 'stream')
    if f[1] ~= 'queued' or not f[2] then
      redis.call('ZREM', KEYS[1], id)
    elseif at > 0 and KEYS[at] == f[2] then
      redis.call('ZREM', KEYS[1], id)
      redis.call('HSET', taskKey, 'entry', redis.call('XADD', KEYS[at], nextEntryId(Q), 'id', id), 'notBefore', '')
      addWaiting(Q, taskKey)
      moved = moved + 1
    end
  end
end
return moved
