-- Argo CD health check for orglink.dev/OrgLink (argocd-cm key
-- resource.customizations.health.orglink.dev_OrgLink; docs: README.md "GitOps health").
-- It reads what kstatus reads (docs/api.md, "Health"), in this order:
--   no status yet, or status.observedGeneration < metadata.generation -> Progressing
--   Stalled=True (a spec change or the peer's action is needed)      -> Degraded
--   Ready=True                                                        -> Healthy
--   otherwise (Reconciling=True: waiting on the peer, retrying)       -> Progressing
local hs = {}

local function condition(status, type_)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type_ then
      return c
    end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

local status = obj.status
local ready = condition(status, "Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile this OrgLink"
  return hs
end
local generation = obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
local stalled = condition(status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end
local reconciling = condition(status, "Reconciling")
hs.status = "Progressing"
hs.message = describe(reconciling or ready)
return hs
