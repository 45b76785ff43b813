-- Claims the entry a blocking XREADGROUP has just delivered to this consumer. The tracker sends
-- it on the same connection right behind the read, so Redis runs it the moment the read returns
-- (a blocked client's next command waits for it) and the claim costs no round trip of its own.
-- An entry pending for this consumer whose id is above the group's last-delivered id as the
-- tracker's last take saw it can only come from that read: ids only grow, and the reads are the
-- consumer loop's alone. One this tracker's reclaim took over meanwhile holds a lease and is left
-- alone. A replay (a client resends a command a reconnect cut off) finds its own lease token and
-- answers as the first run did.
-- KEYS[1..n] the streams the read blocks on
-- ARGV[1] group  ARGV[2] consumer  ARGV[3] key base  ARGV[4] lease (ms)  ARGV[5] lease token
-- ARGV[6] events max length  ARGV[6+i] the last-delivered id of KEYS[i]'s group at the last take
-- The claim's time is Redis's (TIME): the tracker's clock when it sent this may be a block old.
-- Returns {'none'} | {'claimed', taskId, attempt, streamKey, entryId, suspect, field1, value1, ...}
--       | {'dead', taskId, reason, streamKey, entryId} | {'gone', taskId, '', streamKey, entryId}
-- @include lib-common
local group, consumer, base, leaseMs, token, eventsMax = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local now = string.format('%.0f', redisNowMs())

for i = 1, #KEYS do
  local stream = KEYS[i]
  for _, p in ipairs(redis.call('XPENDING', stream, group, '(' .. ARGV[6 + i], '+', 4, consumer)) do
    local entryId = p[1]
    local entry = redis.call('XRANGE', stream, entryId, entryId)
    if #entry == 1 then
      local taskId = entry[1][2][2]
      local f = redis.call('HMGET', base .. ':task:' .. taskId, 'leaseToken', 'attempt', 'suspect', 'entry')
      if f[1] == token and f[4] == entryId then return claimedReply(base, taskId, f[2], stream, entryId, f[3] or '') end
      local r = claimEntry(base, stream, group, entryId, taskId, consumer, now, leaseMs, token, eventsMax)
      if r[1] == 'claimed' then return claimedReply(base, taskId, r[3], stream, entryId, r[4]) end
      if r[1] == 'dead' then return { 'dead', taskId, r[3], stream, entryId } end
      if r[1] == 'gone' then return { 'gone', taskId, '', stream, entryId } end
    end
  end
end
return { 'none' }
