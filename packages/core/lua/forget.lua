-- Removes finished tasks from Redis once their retention has passed and their records are in the
-- archive (src/retention/retention-sweep.ts writes the archive first: a crash between the two
-- leaves a task in both places, never in neither). Each task is checked again here, in this one
-- step: it still exists, its status is final and it ended when the sweep read it (a task that
-- moved since, say a dead letter retried, stays). Then its hash, its lease key and its live log
-- stream go (the log stream with UNLINK: a long one is freed off Redis's main thread, so this
-- script never stalls the take path), and it leaves the queue's index.
-- KEYS[1] the index (sorted set of task ids)
-- KEYS[2 + 3i], KEYS[3 + 3i], KEYS[4 + 3i] (i = 0, 1, ...) a task's hash, lease key and log stream
-- ARGV[1..3] the head (lib-common.lua): group, now, events max length (unused)
-- ARGV[4 + i] the task's `endedAt` as the sweep read it
-- Returns the number of tasks removed.
-- @include lib-common
local removed = 0
local i = 0
while 2 + 3 * i <= #KEYS do
  local taskKey, leaseKey, logKey = KEYS[2 + 3 * i], KEYS[3 + 3 * i], KEYS[4 + 3 * i]
  local f = redis.call('HMGET', taskKey, 'id', 'status', 'endedAt')
  if f[1] and FINAL[f[2]] and f[3] == ARGV[4 + i] then
    redis.call('DEL', taskKey, leaseKey)
    redis.call('UNLINK', logKey)
    redis.call('ZREM', KEYS[1], f[1])
    removed = removed + 1
  end
  i = i + 1
end
return removed
