-- The order in which a queue's waiting tasks are taken, included by take.lua. Its definition is
-- src/scheduling-order.ts (`compareWaiting`); WAITING_RANK below is generated from its
-- `WAITING_KINDS` when the scripts load, and the API's test/scheduling-order.test.ts checks that
-- take and the API's queue positions agree with it. In order: the higher priority; then a requeued
-- task before a waiting one; then, between tenants, the lower fair-share rank (usage / weight,
-- lib-common.lua usageAt); then the older entry.
-- @generated waiting-kinds

-- Whether candidate `a` goes before `b`. A candidate: { priority, kind ('requeued' | 'waiting'),
-- tenant, member (its wait-set member, `<entry order>:<task id>`) }; `rank`: tenant → fair-share rank.
local function goesBefore(a, b, rank)
  if a.priority ~= b.priority then return a.priority > b.priority end
  local ak, bk = WAITING_RANK[a.kind], WAITING_RANK[b.kind]
  if ak ~= bk then return ak < bk end
  if a.tenant ~= b.tenant then
    local ar, br = rank[a.tenant], rank[b.tenant]
    if ar ~= br then return ar < br end
  end
  return a.member < b.member
end
