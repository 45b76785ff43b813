-- GPU requests (a GPU model, a least memory per GPU) for take.lua, which includes this: the rules
-- of src/gpu-request.ts, whose comment defines them (test/gpu-request.test.ts runs both on the same
-- cases). A wait set's size is its GPU count, followed for a task with a request by the request's
-- suffix (`2~h100|a100~40960`: models normalized, spaces as `_`, joined by `|`; then the MiB; for a
-- share of one GPU, `1~h100~~10240`, the share's MiB after). The tracker sends its GPUs grouped by
-- model and memory (src/gpu-request.ts gpuGroupsArg): one line per group,
-- `name\tMiB\ttotal\tfree\tt1,t2,...\tr1,r2,...`, the name normalized, the times when its busy
-- GPUs free by their tasks' time limits, the room a share could have on each GPU that takes shares
-- now. Read only when a take meets a size with a request.

-- The tracker's GPU groups from their argument: { name (padded with spaces), mem, total, free, at }.
local function gpuGroups(arg)
  local groups = {}
  for line in string.gmatch(arg or '', '[^\n]+') do
    local name, mem, total, free, at, room =
      string.match(line, '^([^\t]*)\t([^\t]*)\t(%d+)\t(%d+)\t?([^\t]*)\t?(.*)$')
    if name then
      local times, rooms = {}, {}
      for t in string.gmatch(at, '%d+') do times[#times + 1] = tonumber(t) end
      for r in string.gmatch(room, '%d+') do rooms[#rooms + 1] = tonumber(r) end
      groups[#groups + 1] = { name = ' ' .. name .. ' ', mem = tonumber(mem), total = tonumber(total),
        free = tonumber(free), at = times, rooms = rooms }
    end
  end
  return groups
end

-- Whether model pattern `model` (as in a suffix) matches a group's padded name: its words appear
-- there whole, one after another, `*` any characters (a normalized pattern holds [a-z0-9*_] only).
local function modelMatches(model, paddedName)
  local words = string.gsub(model, '_', ' ')
  local pattern = string.gsub(words, '%*', '.*')
  return string.find(paddedName, ' ' .. pattern .. ' ') ~= nil
end

local function groupSatisfies(group, models, mem)
  if mem and not (group.mem and group.mem >= mem) then return false end
  if models == '' then return true end
  for model in string.gmatch(models, '[^|]+') do
    if modelMatches(model, group.name) then return true end
  end
  return false
end

-- What the tracker's GPU groups can do for size `size` (`<gpus>~<models>~<MiB>[~<share MiB>]`):
-- nil when those that satisfy its request hold fewer than its GPU count (this tracker can never run
-- it); else whether enough of them are free now, and its shadow time (when enough are, by the busy
-- ones' times; math.huge when unknown). A share fits now when a satisfying GPU has room for it (its
-- shadow time is not worked out: unknown).
local function requestFit(size, groups, now)
  local gpus, models, mem, share = string.match(size, '^(%d+)~([^~]*)~(%d*)~?(%d*)$')
  gpus, mem, share = tonumber(gpus), tonumber(mem), tonumber(share)
  if not gpus or gpus < 1 then return nil end
  if share then mem = math.max(mem or 0, share) end
  local total, free, times, room = 0, 0, {}, false
  for _, group in ipairs(groups) do
    if groupSatisfies(group, models, mem) then
      total, free = total + group.total, free + group.free
      for _, t in ipairs(group.at) do times[#times + 1] = t end
      if share then
        for _, r in ipairs(group.rooms) do room = room or r >= share end
      end
    end
  end
  if total < gpus then return nil end
  if share then return room, room and now or math.huge end
  if free >= gpus then return true, now end
  table.sort(times)
  local at = times[gpus - free]
  return false, at and math.max(now, at) or math.huge
end
