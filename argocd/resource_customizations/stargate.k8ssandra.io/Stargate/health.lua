-- Health of a Stargate (stargate.k8ssandra.io) object, for Argo CD.
if obj.status == nil then
  return { status = "Progressing", message = "Waiting for the Stargate controller" }
end
local ready = nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end
local counts = tostring(obj.status.readyReplicas or 0) .. "/" .. tostring(obj.status.replicas or 0) .. " replicas ready"
if obj.status.progress == "Running" and ready ~= nil and ready.status == "True" then
  return { status = "Healthy", message = counts }
end
if obj.status.progress == "Running" and ready ~= nil and ready.status == "False" then
  return { status = "Degraded", message = ready.message or counts }
end
return { status = "Progressing", message = "Stargate is " .. tostring(obj.status.progress or "Pending") .. ": " .. counts }
