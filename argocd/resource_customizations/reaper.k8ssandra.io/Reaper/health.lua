-- Health of a Reaper (reaper.k8ssandra.io) object, for Argo CD.
if obj.status == nil then
  return { status = "Progressing", message = "Waiting for the Reaper controller" }
end
local ready = nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end
if obj.status.progress == "Running" and ready ~= nil and ready.status == "True" then
  return { status = "Healthy", message = "Reaper is running" }
end
if obj.status.progress == "Running" and ready ~= nil and ready.status == "False" then
  return { status = "Degraded", message = ready.message or "Reaper is not ready" }
end
return { status = "Progressing", message = "Reaper is " .. tostring(obj.status.progress or "Pending") }
