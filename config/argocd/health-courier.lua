-- Argo CD health of a Courier (tracking.parcelops.io): can it authenticate?
-- Argo CD sets obj to the live object and reads status and message from the
-- table returned. Only the base and table libraries are available.
local hs = {}

local status = obj.status
local generation = obj.metadata.generation
-- A status written for an older spec says nothing about the current one.
if status == nil or status.observedGeneration == nil
    or (generation ~= nil and status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator"
  return hs
end

local ready = nil
if status.conditions ~= nil then
  for _, c in ipairs(status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end

if ready ~= nil and ready.status == "False" then
  -- The reason says what to fix: SecretNotFound, TokenMissing, TokenTooShort,
  -- TokenShared.
  hs.status = "Degraded"
  if ready.message ~= nil and ready.message ~= "" then
    hs.message = (ready.reason or "NotReady") .. ": " .. ready.message
  else
    hs.message = ready.reason or "NotReady"
  end
  return hs
end

hs.status = "Progressing"
hs.message = "Waiting for the operator"
return hs
