-- Health of a cass-operator CassandraDatacenter, for Argo CD (argocd-cm sandbox: no string
-- library). Healthy only when cass-operator has finished a full pass over the current spec:
-- Ready condition True, cassandraOperatorProgress Ready, observedGeneration == generation.
-- This is the same rule as kstatus-style readiness, so sync waves wait for a usable DC.
local function condition(name)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == name then
      return c
    end
  end
  return nil
end
local function is(name, value)
  local c = condition(name)
  return c ~= nil and c.status == value
end
local function message(name, fallback)
  local c = condition(name)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

if obj.status == nil then
  return { status = "Progressing", message = "Waiting for cass-operator to report status" }
end
if is("Valid", "False") then
  return { status = "Degraded", message = message("Valid", "The datacenter spec is not valid") }
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  return { status = "Progressing", message = "Waiting for cass-operator to reconcile generation " .. tostring(generation) }
end
if is("Stopped", "True") then
  return { status = "Suspended", message = "Datacenter is stopped" }
end
local busy = { "ReplacingNodes", "ScalingUp", "ScalingDown", "Updating", "RollingRestart", "Resuming", "ResizingVolumes", "Decommission" }
local function busyMessage()
  for _, name in ipairs(busy) do
    if is(name, "True") then
      return message(name, name)
    end
  end
  return nil
end
if obj.status.cassandraOperatorProgress ~= "Ready" then
  return { status = "Progressing", message = busyMessage() or "cass-operator is updating the datacenter" }
end
-- A missing Ready condition (seen in exported objects) is not a reason to wait: progress Ready
-- with the current generation observed already means a complete reconcile pass.
if is("Ready", "False") then
  return { status = "Progressing", message = "Waiting for all Cassandra nodes to become ready" }
end
if is("Healthy", "False") then
  return { status = "Degraded", message = message("Healthy", "Not every node can reach a quorum") }
end
local working = busyMessage()
if working ~= nil then
  return { status = "Progressing", message = working }
end
return { status = "Healthy", message = "Datacenter is ready" }
