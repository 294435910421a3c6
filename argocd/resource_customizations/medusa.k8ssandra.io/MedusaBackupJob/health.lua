-- Health of a Medusa backup job, for Argo CD: finished without failures is Healthy.
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
  return { status = "Progressing", message = "Waiting for the backup to start" }
end
local failed = count(obj.status.failed)
local finished = count(obj.status.finished)
if obj.status.finishTime ~= nil then
  if failed > 0 then
    return { status = "Degraded", message = "Backup failed on " .. tostring(failed) .. " node(s)" }
  end
  return { status = "Healthy", message = "Backup finished on " .. tostring(finished) .. " node(s)" }
end
return { status = "Progressing", message = "Backup in progress on " .. tostring(count(obj.status.inProgress)) .. " node(s), " .. tostring(finished) .. " finished" }
