-- Claims the entry a blocking XREADGROUP has just delivered to this consumer. The tracker sends
-- it on the same connection right behind the read, so Redis runs it the moment the read returns
-- (a blocked client's next command waits for it) and the claim costs no round trip of its own.
-- An entry pending for this consumer whose id is above the group's last-delivered id as the
-- tracker's last take saw it can only come from that read: ids only grow, and the reads are the
-- consumer loop's alone. One this tracker's reclaim took over meanwhile holds a lease and is left
-- alone. A replay (a client resends a command a reconnect cut off) finds its own lease token and
-- answers as the first run did.
-- KEYS[1] events stream   KEYS[2] dead-letter stream   KEYS[3..5] the tenant accounts (waiting,
--         running, GPUs)
-- KEYS[6..5+n] the n streams the read blocks on; stream i below is KEYS[5+i]
-- ARGV[1..3] the head (lib-common.lua): group, now (unused: ''), events max length
-- ARGV[4] consumer   ARGV[5] the key template of a task hash and ARGV[6] of its lease key
--         (keys.ts `keyTemplate`): the task is found in a stream by this script, so its keys
--         cannot be declared in KEYS (the exception lib-common.lua describes: same `{queue}` slot)
-- ARGV[7] lease (ms)   ARGV[8] lease token
-- ARGV[8+i] the last-delivered id of stream i's group at the last take
-- The claim's time is Redis's (TIME): the tracker's clock when it sent this may be a block old.
-- Returns {'none'} | the claim reply of every claim (lib-common.lua claimReply):
--   {kind, taskId, streamKey, entryId, detail, suspect, field1, value1, ...}, kind 'claimed' (with
--   the task hash) | 'dead' (detail the reason) | 'gone' (entry removed)
-- @include lib-common
local Q = { events = KEYS[1], dead = KEYS[2], eventsMax = ARGV[3], tenantWaiting = KEYS[3], tenantRunning = KEYS[4],
  tenantGpus = KEYS[5] }
local group, consumer, taskTemplate, leaseTemplate = ARGV[1], ARGV[4], ARGV[5], ARGV[6]
local leaseMs, token = ARGV[7], ARGV[8]
local now = string.format('%.0f', redisNowMs())

for i = 1, #KEYS - 5 do
  local stream = KEYS[5 + i]
  for _, p in ipairs(redis.call('XPENDING', stream, group, '(' .. ARGV[8 + i], '+', 4, consumer)) do
    local entryId = p[1]
    local entry = redis.call('XRANGE', stream, entryId, entryId)
    if #entry == 1 then
      local taskId = entry[1][2][2]
      local taskKey = keyOf(taskTemplate, taskId)
      local f = redis.call('HMGET', taskKey, 'leaseToken', 'attempt', 'suspect', 'entry')
      if f[1] == token and f[4] == entryId then
        return claimReply('claimed', taskId, stream, entryId, f[2], f[3] or '', taskKey)
      end
      local r = claimEntry(Q, taskKey, keyOf(leaseTemplate, taskId), stream, group, entryId, taskId, consumer, now,
        leaseMs, token)
      if r[1] ~= 'held' then return r end
    end
  end
end
return { 'none' }
