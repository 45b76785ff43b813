-- Claims the task of an entry already delivered to the consumer by its blocking XREADGROUP:
-- checks the task is still wanted, sets status running, attempt + 1, the tracker and a fresh lease
-- token; dead-letters the task when its attempts are used up.
-- KEYS[1] the task stream holding the entry   KEYS[2] task hash   KEYS[3] lease key
-- KEYS[4] events stream   KEYS[5] dead-letter stream   KEYS[6..8] the tenant accounts (waiting,
--         running, GPUs)
-- ARGV[1..3] the head (lib-common.lua): group, now (ms), events max length
-- ARGV[4] consumer   ARGV[5] lease (ms)   ARGV[6] lease token   ARGV[7] entry id   ARGV[8] task id
-- Returns the claim reply of every claim (lib-common.lua claimReply):
--   {kind, taskId, streamKey, entryId, detail, suspect, field1, value1, ...}, kind 'claimed' (with
--   the task hash) | 'gone' (ended or superseded: entry removed) | 'held' (another tracker's lease
--   is still live) | 'dead' (attempts used up; detail the reason)
-- @include lib-common
local Q = { events = KEYS[4], dead = KEYS[5], eventsMax = ARGV[3], tenantWaiting = KEYS[6], tenantRunning = KEYS[7],
  tenantGpus = KEYS[8] }
return claimEntry(Q, KEYS[2], KEYS[3], KEYS[1], ARGV[1], ARGV[7], ARGV[8], ARGV[4], ARGV[2], ARGV[5], ARGV[6])
