-- Puts into their wait sets the waiting tasks of one stream that are in none: tasks enqueued by a
-- version of gpufleet without wait sets (an upgrade with tasks waiting), which take would never
-- see. A task qualifies when its hash says `queued` on this very entry of this stream, in no wait
-- set, not in its retry backoff, and the entry is pending for no tracker. The wait set of a waiting
-- task that is in one is listed in both registries (lib-wait.lua; once per set and call): a version
-- without the tenant registry left its sets out of it, and take reads only the sets listed there.
-- Idempotent; trackers run it over their streams at start (src/protocol/index-waiting.ts).
-- KEYS[1] the stream   KEYS[2..8] the scheduling keys (lib-common.lua schedulingQ)
-- KEYS[8+i] the hash of task i (i = 1..n), named by the entry's `id` as the caller read it
-- ARGV[1..3] the head (lib-common.lua): group, now (ms), events max length (unused)
-- ARGV[4] n   ARGV[4+i] the entry id of task i
-- Returns the number of tasks put into wait sets.
-- @include lib-common
local Q = schedulingQ({}, 2)
local group, n = ARGV[1], tonumber(ARGV[4])
local added, listed = 0, {}
for i = 1, n do
  local taskKey, entryId = KEYS[8 + i], ARGV[4 + i]
  local f = redis.call('HMGET', taskKey, 'status', 'entry', 'stream', 'waitSet', 'notBefore')
  if f[1] == 'queued' and f[2] == entryId and f[3] == KEYS[1] and (f[5] or '') == '' then
    if (f[4] or '') ~= '' then
      if not listed[f[4]] then
        listed[f[4]] = true
        listWaitSet(Q, f[4])
      end
    elseif #redis.call('XPENDING', KEYS[1], group, entryId, entryId, 1) == 0 then
      addWaiting(Q, taskKey)
      added = added + 1
    end
  end
end
return added
