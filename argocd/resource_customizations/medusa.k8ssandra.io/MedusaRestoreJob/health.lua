-- Health of a Medusa restore job, for Argo CD: finished without failures is Healthy; a
-- refused restore (status.message) or a failed node is Degraded.
local function count(list)
  if list == nil then
    return 0
  end
  local n = 0
  for _ in ipairs(list) do
    n = n + 1
  end
  return n
end
if obj.status == nil or obj.status.startTime == nil then
  return { status = "Progressing", message = "Waiting for the restore to start" }
end
if obj.status.message ~= nil and obj.status.message ~= "" then
  return { status = "Degraded", message = obj.status.message }
end
local failed = count(obj.status.failed)
local finished = count(obj.status.finished)
if obj.status.finishTime ~= nil then
  if failed > 0 then
    return { status = "Degraded", message = "Restore failed on " .. tostring(failed) .. " node(s)" }
  end
  return { status = "Healthy", message = "Restore finished on " .. tostring(finished) .. " node(s)" }
end
if obj.status.restorePrepared ~= true then
  return { status = "Progressing", message = "Preparing the restore" }
end
return { status = "Progressing", message = "Restore in progress on " .. tostring(count(obj.status.inProgress)) .. " node(s), " .. tostring(finished) .. " finished" }
