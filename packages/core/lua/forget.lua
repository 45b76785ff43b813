-- Removes finished tasks from Redis once their retention has passed and their records are in the
-- archive (src/retention/retention-sweep.ts writes the archive first: a crash between the two
-- leaves a task in both places, never in neither). Each task is checked again here, in this one
-- step: it still exists, its status is final and it ended when the sweep read it (a task that
-- moved since, say a dead letter retried, stays). Then its hash, its lease key and its live log
-- stream go (the log stream with UNLINK: a long one is freed off Redis's main thread, so this
-- script never stalls the take path), it leaves the queue's index, and its tenant's record count
-- goes down by one (never below 0: a record made before the counts existed was never counted).
-- KEYS[1] the index (sorted set of task ids)   KEYS[2] the tenant record counts (hash)
-- KEYS[3 + 3i], KEYS[4 + 3i], KEYS[5 + 3i] (i = 0, 1, ...) a task's hash, lease key and log stream
-- ARGV[1..3] the head (lib-common.lua): group, now, events max length (unused)
-- ARGV[4 + i] the task's `endedAt` as the sweep read it
-- Returns the number of tasks removed.
-- @include lib-common
local removed = 0
local gone = {}
local i = 0
while 3 + 3 * i <= #KEYS do
  local taskKey, leaseKey, logKey = KEYS[3 + 3 * i], KEYS[4 + 3 * i], KEYS[5 + 3 * i]
  local f = redis.call('HMGET', taskKey, 'id', 'status', 'endedAt', 'tenant')
  if f[1] and FINAL[f[2]] and f[3] == ARGV[4 + i] then
    redis.call('DEL', taskKey, leaseKey)
    redis.call('UNLINK', logKey)
    redis.call('ZREM', KEYS[1], f[1])
    local tenant = tenantOf(f[4])
    gone[tenant] = (gone[tenant] or 0) + 1
    removed = removed + 1
  end
  i = i + 1
end
-- One count change per tenant of the call, not one per task.
for tenant, n in pairs(gone) do
  if tonumber(redis.call('HGET', KEYS[2], tenant) or '0') > n then
    redis.call('HINCRBY', KEYS[2], tenant, -n)
  else
    redis.call('HDEL', KEYS[2], tenant)
  end
end
return removed
