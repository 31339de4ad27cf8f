-- Argo CD health of a Parcel (tracking.parcelops.io). Argo CD sets obj to the
-- live object and reads status and message from the table returned. Only the
-- base and table libraries are available (no string library).
local hs = {}

-- condition returns the condition of the given type, or nil.
local function condition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

-- describe joins a condition's reason and message for people.
local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    if c.reason ~= nil and c.reason ~= "" then
      return c.reason .. ": " .. c.message
    end
    return c.message
  end
  return c.reason or ""
end

local status = obj.status
local generation = obj.metadata.generation
-- A status written for an older spec says nothing about the current one.
if status == nil or status.observedGeneration == nil
    or (generation ~= nil and status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator"
  return hs
end

local ready = condition(status.conditions, "Ready")
local reconciling = condition(status.conditions, "Reconciling")
local stalled = condition(status.conditions, "Stalled")

-- Stalled: the operator cannot go on without a person (e.g. a proof of
-- delivery that fails verification).
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

-- The operator is still working on it: retrying an unreachable object store.
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling)
  return hs
end
if ready ~= nil and ready.status == "False" and ready.reason == "StoreUnavailable" then
  hs.status = "Progressing"
  hs.message = describe(ready)
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  if status.phase ~= nil and status.phase ~= "" then
    hs.message = "Phase " .. status.phase
    if ready.message ~= nil and ready.message ~= "" then
      hs.message = hs.message .. " (" .. ready.message .. ")"
    end
  else
    hs.message = describe(ready)
  end
  return hs
end

if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

-- No Ready condition yet, or Unknown.
hs.status = "Progressing"
hs.message = "Waiting for the operator"
return hs
