-- The order in which a queue's waiting tasks are taken, and the walk of the tenant registry class by
-- class that take.lua follows it with; included by take.lua. Its definition is
-- src/scheduling-order.ts (`compareWaiting`); WAITING_RANK below is generated from its
-- `WAITING_KINDS` when the scripts load, and the API's test/scheduling-order.test.ts checks that
-- take and the API's queue positions agree with it. In order: the higher priority; then a requeued
-- task before a waiting one; then, between tenants, the lower fair-share rank (usage / weight,
-- lib-common.lua usageAt); then the older entry.
-- @generated waiting-kinds

-- Whether candidate `a` goes before `b`. A candidate: { priority, kind ('requeued' | 'waiting'),
-- tenant, rank (its tenant's fair-share rank), member (its wait-set member, `<entry order>:<task id>`) }.
local function goesBefore(a, b)
  if a.priority ~= b.priority then return a.priority > b.priority end
  local ak, bk = WAITING_RANK[a.kind], WAITING_RANK[b.kind]
  if ak ~= bk then return ak < bk end
  if a.tenant ~= b.tenant and a.rank ~= b.rank then return a.rank < b.rank end
  return a.member < b.member
end

-- A class's tenants are read and ranked here for take (eachClass, readClass, lowestRank). A take
-- needs the lowest rank of the class it takes from, not every rank, and the Lua work per tenant is
-- most of what many tenants cost a take (more than the Redis commands they add), so a tenant is
-- ranked only when it might rank lowest: ranking reads and parses its usage, and usage never
-- lowers a rank, so its running GPUs per weight bound its rank from below (fairShareRank without
-- usage, taken 1e-9 lower, so that the bound's own rounding never passes over a tie). The order
-- stays exact: a tenant passed over ranks above the lowest rank.
local LN2 = 0.69314718055994531 -- math.log(2); a library's top level cannot call math (Redis functions)

-- A tenant's settings as readClass read them (`<weight>,<max running GPUs or ''>`), parsed once
-- per class and distinct value (tenants share a few): {weight, limit (math.huge without one)}.
local function parsedSetting(class, setting)
  local p = class.parsed[setting]
  if not p then
    local weight, max = string.match(setting, '^([^,]*),?(.*)$')
    weight = tonumber(weight) or 1
    if weight <= 0 then weight = 1 end
    p = { weight, tonumber(max) or math.huge }
    class.parsed[setting] = p
  end
  return p
end

-- Tenant i of `class`: its running GPUs, its weight, and the GPUs its running-GPU quota still
-- allows (math.huge without one). Worked out when asked: a take needs them for a few tenants only.
local function gpusOf(class, i)
  local gpus = tonumber(class.held[i] or '0') or 0
  return gpus > 0 and gpus or 0
end
local function weightOf(class, i)
  return parsedSetting(class, class.settings[i] or '')[1]
end
local function roomOf(class, i)
  return parsedSetting(class, class.settings[i] or '')[2] - gpusOf(class, i)
end

-- Ranks the tenants at positions `list` of `class` (readClass): one HMGET of their usage, and of the
-- half-life when the class has none yet (it sets the bound's scale).
local function rankTenants(Q, class, now, list)
  local fields, skip = {}, 0
  if not class.half then fields[1], skip = HALF_LIFE_FIELD, 1 end
  for n, i in ipairs(list) do fields[n + skip] = class.tenants[i] end
  if #fields == 0 then return end
  local usage = redis.call('HMGET', Q.tenantUsage, unpack(fields))
  if skip == 1 then
    class.half = tonumber(usage[1] or '') or DEFAULT_HALF_LIFE_MS
    class.scale = class.half / LN2 * (1 - 1e-9)
  end
  for n, i in ipairs(list) do
    local gpus = gpusOf(class, i)
    local used = usageAt(usage[n + skip] or nil, gpus, now, class.half)
    class.rank[i] = fairShareRank(used, gpus, weightOf(class, i), class.half)
    class.usage[i] = usage[n + skip]
    class.ranked[#class.ranked + 1] = i
  end
end

-- The lowest rank among the tenants of `class` not `done`, exact: ranks the tenants whose bound
-- does not exceed the lowest rank known (none known: those of the lowest bound) until none that
-- could rank lower is left. Every tenant not done whose rank is that lowest is in class.ranked then.
local function lowestRank(Q, class, now, done)
  while true do
    local best = math.huge
    for _, i in ipairs(class.ranked) do
      if not done[i] and class.rank[i] < best then best = class.rank[i] end
    end
    local need, share = {}, class.share
    if best < math.huge then
      local upto = best / class.scale
      for i = 1, #share do
        -- `not >` rather than `<=`: a bound that is not a number is ranked too, so the loop ends.
        if not done[i] and not class.rank[i] and not (share[i] > upto) then need[#need + 1] = i end
      end
    else
      local least = math.huge
      for i = 1, #share do
        if not done[i] and not class.rank[i] then
          if share[i] < least then
            least, need = share[i], { i }
          elseif not (share[i] > least) then
            need[#need + 1] = i
          end
        end
      end
    end
    if #need == 0 then return best end
    rankTenants(Q, class, now, need)
    if best < math.huge then
      -- Every tenant that could rank below the lowest known was in `need`, and the lowest is now no
      -- higher than it was: the others' bounds are above it. No second pass over the class.
      for _, i in ipairs(need) do
        if class.rank[i] < best then best = class.rank[i] end
      end
      return best
    end
  end
end

-- The sizes of tenant i of `class` (the registry's list, comma-separated).
local function sizesOf(class, i)
  return string.sub(class.members[i], class.cut[i] + 1)
end

-- One class of the tenant registry (lib-wait.lua), its tenants by position i: tenants[i],
-- settings[i] and held[i] (its settings and running GPUs as stored: gpusOf, weightOf and roomOf read
-- them), share[i] (running GPUs per weight: its bound, in units of class.scale) and rank[i] (fair
-- share, lib-common.lua fairShareRank; nil until ranked, class.ranked lists those ranked; usage[i]
-- its stored usage as ranking read it, false when none). The tenants of the lowest share are
-- ranked here, which reads the half-life. The loop over every tenant computes its share and no
-- more: it runs for each tenant at each take.
-- Returns { priority, kind ('requeued' | 'waiting'), letter ('r' | 'w'), tenants, members, cut,
-- settings, held, parsed, share, rank, ranked, usage, half, scale }.
local function readClass(Q, class, now)
  local from = #class + 2
  local members = redis.call('ZRANGEBYLEX', Q.waitTenants, string.format('[%s:', class), string.format('(%s;', class))
  local tenants, cut = {}, {}
  for i = 1, #members do
    local colon = string.find(members[i], ':', from, true)
    tenants[i], cut[i] = string.sub(members[i], from, colon - 1), colon
  end
  local letter = string.sub(class, -1)
  local c = { priority = PRIORITY_MAX - tonumber(string.sub(class, 1, -2)), letter = letter,
    kind = letter == 'r' and 'requeued' or 'waiting', tenants = tenants, members = members, cut = cut,
    settings = {}, held = {}, parsed = {}, share = {}, rank = {}, ranked = {}, usage = {} }
  if #tenants == 0 then return c end
  local settings = redis.call('HMGET', Q.tenantSettings, unpack(tenants))
  local held = redis.call('HMGET', Q.tenantGpus, unpack(tenants))
  c.settings, c.held = settings, held
  local parsed, share = c.parsed, c.share
  local least, first = math.huge, {}
  for i = 1, #tenants do
    local setting = settings[i] or ''
    local gpus = tonumber(held[i] or '0') or 0
    if gpus < 0 then gpus = 0 end
    local s = gpus / (parsed[setting] or parsedSetting(c, setting))[1]
    share[i] = s
    if s < least then least, first = s, { i } elseif s == least then first[#first + 1] = i end
  end
  rankTenants(Q, c, now, first)
  return c
end

-- Walks the tenant registry class by class, the class taken first first: calls visit(class) with
-- each class (readClass) and returns the first answer that is not nil (nil when every class was
-- visited).
local function eachClass(Q, now, visit)
  local from = '-'
  while true do
    local first = redis.call('ZRANGEBYLEX', Q.waitTenants, from, '+', 'LIMIT', 0, 1)[1]
    if not first then return nil end
    local class = string.sub(first, 1, string.find(first, ':', 1, true) - 1)
    local answer = visit(readClass(Q, class, now))
    if answer ~= nil then return answer end
    -- ';' follows ':': past every member of this class.
    from = string.format('[%s;', class)
  end
end
