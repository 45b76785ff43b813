-- The order in which a queue's waiting tasks are taken, included by take.lua. Its definition is
-- src/scheduling-order.ts (`compareWaiting`); WAITING_RANK below is generated from its
-- `WAITING_KINDS` when the scripts load, and test/scheduling-order.test.ts checks that this
-- function and the API's queue positions agree with it. Requeued entries go first; within a kind,
-- the older entry id.
-- @generated waiting-kinds

local function entryIdParts(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end

-- Whether the entry `aId` of kind `aKind` ('requeued' | 'waiting') is taken before `bId` of `bKind`.
local function goesBefore(aKind, aId, bKind, bId)
  local ar, br = WAITING_RANK[aKind], WAITING_RANK[bKind]
  if ar ~= br then return ar < br end
  local ams, aseq = entryIdParts(aId)
  local bms, bseq = entryIdParts(bId)
  return ams < bms or (ams == bms and aseq < bseq)
end
