-- The wait sets and their two registries, included by lib-common.lua (it uses lib-common's
-- tenantOf and DEFAULT_PRIORITY, and its scripts' Q: Q.waitSets, Q.waitTenants).
--
-- The wait sets: a task that waits to be taken (status `queued`, with an entry no tracker holds,
-- not in its retry backoff) is a member of the wait set of its size, priority, kind and tenant,
-- named `<size>:<priority>:<kind>:<tenant>` (src/keys.ts waitSetName; its size the GPU count
-- followed by its GPU request, `gpuRequest`, when it has one: `2~h100~`, src/gpu-request.ts;
-- kind 'r' when its entry is in
-- a requeued stream: it goes first within its priority, else 'w') and listed in Q.waitSets (a
-- sorted set, score waitClassScore: the sets of the class taken first come first) while not empty.
-- Its member is `<entry order>:<task id>`, the entry order being its entry id zero-padded so that
-- members compare as strings in entry order; every score is 0, so a set is in entry order and
-- ZLEXCOUNT counts the members before one (the API's queue positions). The task hash keeps the
-- set's name and its member (`waitSet`, `waitMember`) so that any script can remove it. take.lua
-- picks among the sets' heads (lib-order.lua).
-- waitSetKey(Q, name): the key of the wait set `name`, from the registry's key (src/keys.ts waitSetKeyLua).
-- @generated wait-set-key
--
-- The tenant registry (Q.waitTenants): take ranks the tenants of one class (fair share is between
-- tenants) and then reads the heads of the sets of the tenants ranked first only, so it reads one
-- member per tenant, not one name per set (20 tenants of 4 sizes: 20, not 80). One member per class
-- and tenant with a set listed in Q.waitSets: `<class>:<tenant>:<sizes>`, the class as waitClass
-- spells it (below) and the sizes of the tenant's sets of that class, comma-separated. Every
-- score is 0 and the class comes first, so the members sort class by class in the order classes
-- are taken, and ZRANGEBYLEX reads one class, or one tenant's member of it. It changes only when a
-- name enters or leaves Q.waitSets (a set's first task, its last), never for the tasks in between.
-- waitClass(priority, kind): a class as the registry spells it (src/keys.ts waitClass).
-- @generated wait-class

local function waitOrder(entryId)
  local dash = string.find(entryId, '-', 1, true)
  return string.format('%015.0f-%010.0f', tonumber(string.sub(entryId, 1, dash - 1)),
    tonumber(string.sub(entryId, dash + 1)))
end

-- A wait set's score in the registry: lower for a class taken first (higher priority; requeued
-- before waiting within a priority), so the registry lists classes in the scheduling order.
local function waitClassScore(priority, kind)
  return -(tonumber(priority) * 2 + (kind == 'r' and 1 or 0))
end

-- Adds size `gpus` (a string: a GPU count, with its GPU request if any) to the sizes of `tenant` in
-- `class` in the tenant registry (`add` true), or removes it; a tenant left with no size leaves the class.
local function listTenantSize(Q, class, tenant, gpus, add)
  local prefix = string.format('%s:%s:', class, tenant)
  -- ';' follows ':': the range holds this tenant's member, not one of a tenant whose name it begins.
  local member = redis.call('ZRANGEBYLEX', Q.waitTenants, '[' .. prefix, string.format('(%s:%s;', class, tenant),
    'LIMIT', 0, 1)[1]
  local sizes, listed = {}, false
  if member then
    for size in string.gmatch(string.sub(member, #prefix + 1), '[^,]+') do
      if size == gpus then listed = true else sizes[#sizes + 1] = size end
    end
  end
  if listed == add then return end
  if add then sizes[#sizes + 1] = gpus end
  if member then redis.call('ZREM', Q.waitTenants, member) end
  if #sizes > 0 then redis.call('ZADD', Q.waitTenants, 0, prefix .. table.concat(sizes, ',')) end
end

-- Lists the wait set `name` in both registries (a no-op for one listed already).
local function listWaitSet(Q, name)
  local gpus, priority, kind, tenant = string.match(name, '^([^:]+):(%d+):([rw]):(.+)$')
  redis.call('ZADD', Q.waitSets, waitClassScore(priority, kind), name)
  listTenantSize(Q, waitClass(tonumber(priority), kind), tenant, gpus, true)
end

-- Takes the wait set `name` (empty) out of both registries.
local function forgetWaitSet(Q, name)
  redis.call('ZREM', Q.waitSets, name)
  local gpus, priority, kind, tenant = string.match(name, '^([^:]+):(%d+):([rw]):(.+)$')
  listTenantSize(Q, waitClass(tonumber(priority), kind), tenant, gpus, false)
end

-- `alone`: true when the caller knows `member` is the set's only member, false when it knows it is
-- not, nil when it does not know (the set is looked at after).
local function removeFromWaitSet(Q, name, member, alone)
  local key = waitSetKey(Q, name)
  redis.call('ZREM', key, member)
  if alone == nil then alone = redis.call('EXISTS', key) == 0 end
  if alone then forgetWaitSet(Q, name) end
end

local function removeWaiting(Q, taskKey)
  local f = redis.call('HMGET', taskKey, 'waitSet', 'waitMember')
  if (not f[1]) or f[1] == '' then return end
  removeFromWaitSet(Q, f[1], f[2])
  redis.call('HSET', taskKey, 'waitSet', '', 'waitMember', '')
end

-- Places a task in its wait set and returns the task-hash fields that record the place
-- ({'waitSet', name, 'waitMember', member}), for the caller to write. `f`: {id, gpus, priority,
-- tenant, entry, stream, gpuRequest}. The numbers are written as integers, as waitClass and take.lua spell them
-- back from the tenant registry. A set new to the registry (its first task) is new to its tenant's
-- sizes too.
local function placeWaiting(Q, f)
  local kind = string.find(f[6] or '', '%:requeued%:%d+$') and 'r' or 'w'
  local gpus, priority = string.format('%d', tonumber(f[2]) or 0) .. (f[7] or ''), tonumber(f[3]) or DEFAULT_PRIORITY
  local tenant = tenantOf(f[4])
  local name = string.format('%s:%d:%s:%s', gpus, priority, kind, tenant)
  local member = string.format('%s:%s', waitOrder(f[5]), f[1])
  redis.call('ZADD', waitSetKey(Q, name), 0, member)
  if redis.call('ZADD', Q.waitSets, waitClassScore(priority, kind), name) == 1 then
    listTenantSize(Q, waitClass(priority, kind), tenant, gpus, true)
  end
  return { 'waitSet', name, 'waitMember', member }
end

-- Puts a task (of no wait set, or leaving the one it is in) into its wait set, its fields read.
local function addWaiting(Q, taskKey)
  removeWaiting(Q, taskKey)
  local f = redis.call('HMGET', taskKey, 'id', 'gpus', 'priority', 'tenant', 'entry', 'stream', 'gpuRequest')
  redis.call('HSET', taskKey, unpack(placeWaiting(Q, f)))
end
