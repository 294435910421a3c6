-- Health of a cass-operator CassandraTask (rebuild, restart, cleanup, ...), for Argo CD.
local function is(name)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == name and c.status == "True" then
      return c
    end
  end
  return nil
end
if obj.status == nil then
  return { status = "Progressing", message = "Waiting for cass-operator to start the task" }
end
local failed = is("Failed")
if failed ~= nil or (obj.status.completionTime ~= nil and (obj.status.failed or 0) > 0) then
  local text = "Task failed"
  if failed ~= nil and failed.message ~= nil and failed.message ~= "" then
    text = failed.message
  elseif obj.status.failed ~= nil then
    text = "Task failed on " .. tostring(obj.status.failed) .. " pod(s)"
  end
  return { status = "Degraded", message = text }
end
if is("Complete") ~= nil or obj.status.completionTime ~= nil then
  return { status = "Healthy", message = "Task completed on " .. tostring(obj.status.succeeded or 0) .. " pod(s)" }
end
return { status = "Progressing", message = "Task running: " .. tostring(obj.status.succeeded or 0) .. " pod(s) done, " .. tostring(obj.status.active or 0) .. " active" }
